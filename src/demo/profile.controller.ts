import { Controller, Get } from '@nestjs/common';
import { CurrentUser, Public, type AuthUser } from '../auth/index.js';

/** Demo routes: one open, one guarded by the global AuthGuard. */
@Controller()
export class ProfileController {
  @Public()
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('profile')
  profile(@CurrentUser() user: AuthUser): AuthUser {
    return user;
  }
}
