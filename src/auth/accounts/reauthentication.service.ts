import { Injectable, Optional } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail.js';
import { AuthError, AuthErrorCode } from '../auth.errors.js';
import type { RequestMeta } from '../interfaces/request-meta.interface.js';
import { SecondFactor } from '../login/second-factor.js';
import { PasswordService } from '../passwords/password.service.js';
import { SessionService } from '../sessions/session.service.js';
import { LoginDefence } from '../throttle/login-defence.js';
import { UserStore } from '../users/user-store.js';
import { checkCurrentPassword } from './current-password.js';

/** What a reauthentication answers: a new access token for the same session, saying so. */
export interface Reauthentication {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  userId: string;
  sessionId: string;
}

/**
 * Reauthentication (`POST /auth/reauthenticate`): a signed-in caller proves again who they are
 * (the password, on the account's failure budget, and the second factor's code when the account
 * has one), and the session's last full authentication moves to now, with the factors just used,
 * without a new session. `@RequireRecentLogin()` routes then let the new access token through.
 */
@Injectable()
export class ReauthenticationService {
  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordService,
    private readonly defence: LoginDefence,
    private readonly sessions: SessionService,
    private readonly audit: AuditTrail,
    @Optional() private readonly secondFactor?: SecondFactor,
  ) {}

  /**
   * Throws `AUTH_INVALID_CREDENTIALS` for a wrong password, `AUTH_MFA_CODE_INVALID` for a missing
   * or wrong code where the account has a second factor, `TooManyAttemptsError` past a budget and
   * `AUTH_SESSION_REVOKED` when the session ended meanwhile.
   */
  async reauthenticate(userId: string, sessionId: string, password: unknown, code: unknown, meta: RequestMeta): Promise<Reauthentication> {
    const fields = { userId, sessionId };
    const user = await this.users.findById(userId);
    if (!user) throw new AuthError(AuthErrorCode.SESSION_REVOKED);
    if (!(await checkCurrentPassword(this.defence, this.passwords, user, password))) {
      this.audit.record('reauthentication.failed', { ...fields, reason: AuthErrorCode.INVALID_CREDENTIALS }, meta);
      throw new AuthError(AuthErrorCode.INVALID_CREDENTIALS, 'Wrong password');
    }
    let factors: string[] | null = null;
    if (this.secondFactor) {
      try {
        factors = await this.secondFactor.reauthenticate(user, code, meta);
      } catch (error) {
        if (error instanceof AuthError && error.code !== AuthErrorCode.STORE_UNAVAILABLE) {
          this.audit.record('reauthentication.failed', { ...fields, reason: error.code }, meta);
        }
        throw error;
      }
    }
    const renewed = await this.sessions.reauthenticated(userId, sessionId, ['pwd', ...(factors ?? [])]);
    if (!renewed) throw new AuthError(AuthErrorCode.SESSION_REVOKED);
    this.audit.record('reauthenticated', fields, meta);
    return { accessToken: renewed.accessToken, tokenType: 'Bearer', expiresIn: this.sessions.accessTokenTtlSeconds, userId, sessionId };
  }
}
