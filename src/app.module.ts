import { Module } from '@nestjs/common';
import { AuthModule } from './auth/index.js';
import { demoAuthOptions } from './demo/demo-options.js';
import { ProfileController } from './demo/profile.controller.js';

/**
 * The demo app: nest-warden with the global guard. Options are read from the environment
 * when the app starts (see `demoAuthOptions`): in-memory stores unless AUTH_SESSION_STORE=redis.
 */
@Module({
  imports: [AuthModule.forRootAsync({ useFactory: () => demoAuthOptions(), globalGuard: true })],
  controllers: [ProfileController],
})
export class AppModule {}
