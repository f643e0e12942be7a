import { Module } from '@nestjs/common';
import { AuthModule } from './auth/index.js';
import { demoSecret } from './demo/demo-secret.js';
import { ProfileController } from './demo/profile.controller.js';

/** The demo app: nest-warden with the global guard and in-memory stores. */
@Module({
  imports: [AuthModule.forRoot({ secret: demoSecret(), globalGuard: true })],
  controllers: [ProfileController],
})
export class AppModule {}
