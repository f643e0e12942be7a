import { Inject, Injectable, Optional } from '@nestjs/common';
import { AuditTrail } from '../../audit/audit-trail.js';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import {
  SECOND_FACTOR_METHODS,
  SecondFactor,
  SecondFactorMethod,
  type LoginChallenge,
  type SecondFactorStatus,
  type SecondStep,
} from '../../login/second-factor.js';
import { LoginDefence } from '../../throttle/login-defence.js';
import { UserStore, type UserRecord } from '../../users/user-store.js';
import { MfaLoginTokens } from './login-token.js';
import { MFA_FLOW_CONFIG, type MfaFlowConfig } from './mfa-flow.options.js';
import { MfaStore, type MfaState } from './mfa-store.js';
import { newRecoveryCodes, normalizeRecoveryCode, totpCodeOf } from './recovery-codes.js';
import { SecretBox } from './secret-box.js';
import { Totp, TOTP_PERIOD_SECONDS } from './totp.js';

/** What `POST /auth/mfa/totp/setup` answers: the pending secret, for the authenticator app. */
export interface TotpSetup {
  /** Base32, for typing into an app by hand. */
  secret: string;
  otpauthUrl: string;
  /** The URL as an SVG QR code. */
  qrCodeSvg: string;
}

/** Recovery codes, shown once: only their digests are kept. */
export interface RecoveryCodes {
  recoveryCodes: string[];
}

// A used step stays marked while a code for it could still be accepted (one step of drift each
// way, and the step itself), with a step to spare.
const USED_STEP_TTL_SECONDS = TOTP_PERIOD_SECONDS * 4;

/**
 * TOTP (RFC 6238) as the second factor, with recovery codes: enrolment (a pending secret, then
 * the first code turns it on and hands out the codes), the login challenge and its redemption,
 * reauthentication's code, and turning it off. Secrets are sealed (AES-256-GCM, bound to the
 * account) before the store sees them; recovery codes are kept as keyed digests. Every code is
 * checked on the account's code budget (on the throttle store), and a TOTP step is accepted once
 * (a marker in the `MfaStore`, shared by every instance that shares the factors).
 */
@Injectable()
export class TotpFactorService extends SecondFactor {
  private readonly totp = new Totp();
  private readonly secrets: SecretBox;
  private readonly codes: SecretBox;
  private readonly loginTokens: MfaLoginTokens;

  constructor(
    @Inject(MFA_FLOW_CONFIG) private readonly config: MfaFlowConfig,
    @Inject(AUTH_CONFIG) private readonly authConfig: AuthConfig,
    private readonly store: MfaStore,
    private readonly users: UserStore,
    private readonly defence: LoginDefence,
    private readonly audit: AuditTrail,
    @Optional() @Inject(SECOND_FACTOR_METHODS) private readonly methods: SecondFactorMethod[] = [],
  ) {
    super();
    this.secrets = new SecretBox(config.keys, 'totp-secret');
    this.codes = new SecretBox(config.keys, 'recovery-code');
    this.loginTokens = new MfaLoginTokens(authConfig.keys, config.loginTokenTtlSeconds);
  }

  /** A new pending secret for the account (replacing a pending one); `AUTH_MFA_ALREADY_ENABLED` while TOTP is on. */
  async setup(userId: string, meta: RequestMeta): Promise<TotpSetup> {
    const user = await this.account(userId);
    const state = await this.store.find(userId);
    if (state.totp) throw new AuthError(AuthErrorCode.MFA_ALREADY_ENABLED);
    const secret = this.totp.newSecret();
    const expiresAt = new Date(this.now() + this.config.setupTtlSeconds * 1000);
    await this.store.savePendingTotp(userId, { secret: this.secrets.seal(secret, userId), expiresAt });
    const otpauthUrl = this.totp.uri(secret, this.config.issuer, user.username);
    this.audit.record('mfa.totp.setup', { userId }, meta);
    return { secret, otpauthUrl, qrCodeSvg: await this.totp.qrCodeSvg(otpauthUrl) };
  }

  /** Turns TOTP on with the pending secret's first code, and hands out the recovery codes. */
  async confirm(userId: string, code: unknown, meta: RequestMeta): Promise<RecoveryCodes> {
    const state = await this.store.find(userId);
    if (state.totp) throw new AuthError(AuthErrorCode.MFA_ALREADY_ENABLED);
    const pending = state.pendingTotp;
    if (!pending) throw new AuthError(AuthErrorCode.MFA_SETUP_MISSING);
    const secret = this.open(pending.secret, userId);
    await this.checked(userId, meta, () => this.totpMatches(userId, secret, code));
    const recoveryCodes = newRecoveryCodes(this.config.recoveryCodes);
    const digests = recoveryCodes.map((one) => this.codes.digest(normalizeRecoveryCode(one)!, userId));
    // Of two confirmations of one setup (or a newer setup meanwhile), one wins.
    if (!(await this.store.enableTotp(userId, pending.secret, digests, new Date(this.now())))) {
      throw new AuthError(AuthErrorCode.MFA_SETUP_MISSING);
    }
    this.audit.record('mfa.totp.enabled', { userId }, meta);
    return { recoveryCodes };
  }

  /** Turns TOTP off after a TOTP or recovery code; the recovery codes go with it. */
  async disable(userId: string, code: unknown, meta: RequestMeta): Promise<void> {
    const state = await this.enabledState(userId);
    await this.verifyCode(userId, state, code, meta);
    await this.store.disableTotp(userId);
    this.audit.record('mfa.totp.disabled', { userId }, meta);
  }

  /** A new set of recovery codes after a TOTP or recovery code; the old set is void. */
  async replaceRecoveryCodes(userId: string, code: unknown, meta: RequestMeta): Promise<RecoveryCodes> {
    const state = await this.enabledState(userId);
    await this.verifyCode(userId, state, code, meta);
    const recoveryCodes = newRecoveryCodes(this.config.recoveryCodes);
    const digests = recoveryCodes.map((one) => this.codes.digest(normalizeRecoveryCode(one)!, userId));
    if (!(await this.store.replaceRecoveryCodes(userId, digests))) throw new AuthError(AuthErrorCode.MFA_NOT_ENABLED);
    this.audit.record('mfa.recovery_codes.replaced', { userId }, meta);
    return { recoveryCodes };
  }

  // Another flow's methods (a passkey) are offered beside TOTP, never instead of it: an account
  // without TOTP logs in with its password alone, whatever else it has enrolled.
  async challenge(user: UserRecord, deviceId: string | null): Promise<LoginChallenge | null> {
    const state = await this.store.find(user.id);
    if (!state.totp) return null;
    const mfaToken = this.loginTokens.issue(user, deviceId, this.now());
    const challenge: LoginChallenge = {
      mfaRequired: true,
      mfaToken,
      methods: state.recoveryCodesLeft > 0 ? ['totp', 'recovery'] : ['totp'],
    };
    for (const method of this.methods) {
      if (!(await method.enrolled(user.id))) continue;
      challenge.methods.push(method.name);
      (challenge as unknown as Record<string, unknown>)[method.name] = await method.options(user.id, mfaToken);
    }
    return challenge;
  }

  async redeem(mfaToken: unknown, code: unknown, meta: RequestMeta): Promise<SecondStep> {
    const claims = this.loginTokens.read(mfaToken, this.now());
    if (!claims) throw new AuthError(AuthErrorCode.MFA_TOKEN_INVALID);
    const user = await this.users.findById(claims.userId);
    // A password changed (or reset) since the challenge voids it.
    if (!user || !this.loginTokens.matches(claims, user)) throw new AuthError(AuthErrorCode.MFA_TOKEN_INVALID);
    const state = await this.store.find(user.id);
    if (!state.totp) throw new AuthError(AuthErrorCode.MFA_TOKEN_INVALID);
    let amr = ['otp'];
    if (isMethodProof(code)) {
      const method = this.methods.find((one) => one.name === code.method);
      if (!method) throw new AuthError(AuthErrorCode.MFA_CODE_INVALID);
      amr = await this.checkedMethod(user.id, meta, () => method.verify(user.id, mfaToken as string, code.response, meta));
    } else {
      await this.verifyCode(user.id, state, code, meta);
    }
    // Single use: of concurrent redemptions with good codes, one opens a session.
    if (!(await this.store.markUsed(user.id, `login:${claims.jti}`, new Date(claims.expiresAt + 60_000)))) {
      throw new AuthError(AuthErrorCode.MFA_TOKEN_INVALID);
    }
    return { user, deviceId: claims.deviceId, amr };
  }

  // Another flow's method on the account's code budget: its refusal counts as a wrong code.
  private async checkedMethod(userId: string, meta: RequestMeta, verify: () => Promise<string[]>): Promise<string[]> {
    const reservation = await this.defence.admitSecondFactor(userId, this.config);
    try {
      const amr = await verify();
      await reservation.succeeded();
      return amr;
    } catch (error) {
      const refused = error instanceof AuthError && error.code !== AuthErrorCode.STORE_UNAVAILABLE;
      await (refused ? reservation.failed() : reservation.abandoned());
      if (refused) this.audit.record('mfa.code.failed', { userId, reason: error.code }, meta);
      throw error;
    }
  }

  async reauthenticate(user: UserRecord, code: unknown, meta: RequestMeta): Promise<string[] | null> {
    const state = await this.store.find(user.id);
    if (!state.totp) return null;
    if (code === undefined || code === null) {
      throw new AuthError(AuthErrorCode.MFA_CODE_INVALID, 'A code is required: this account has two-factor authentication on');
    }
    await this.verifyCode(user.id, state, code, meta);
    return ['otp'];
  }

  async status(userId: string): Promise<SecondFactorStatus> {
    const state = await this.store.find(userId);
    return { totp: state.totp !== null, recoveryCodesLeft: state.recoveryCodesLeft };
  }

  // A TOTP code of the enabled factor, or a recovery code, on the account's code budget.
  private async verifyCode(userId: string, state: MfaState, code: unknown, meta: RequestMeta): Promise<void> {
    const factor = state.totp!;
    await this.checked(userId, meta, async () => {
      if (typeof code !== 'string') return false;
      if (totpCodeOf(code) !== null) {
        const secret = this.open(factor.secret, userId);
        if (!(await this.totpMatches(userId, secret, code))) return false;
        await this.resealIfOld(userId, factor.secret, secret);
        return true;
      }
      const recovery = normalizeRecoveryCode(code);
      if (recovery === null) return false;
      // Digests made before a key rotation are under an older key.
      for (const digest of this.codes.digests(recovery, userId)) {
        if (await this.store.useRecoveryCode(userId, digest)) {
          this.audit.record('mfa.recovery_code.used', { userId }, meta);
          return true;
        }
      }
      return false;
    });
  }

  // Runs a code check on the account's budget: a wrong code counts, a right one clears it.
  private async checked(userId: string, meta: RequestMeta, check: () => Promise<boolean>): Promise<void> {
    const reservation = await this.defence.admitSecondFactor(userId, this.config);
    let valid: boolean;
    try {
      valid = await check();
    } catch (error) {
      await reservation.abandoned();
      throw error;
    }
    if (valid) {
      await reservation.succeeded();
      return;
    }
    await reservation.failed();
    this.audit.record('mfa.code.failed', { userId, reason: AuthErrorCode.MFA_CODE_INVALID }, meta);
    throw new AuthError(AuthErrorCode.MFA_CODE_INVALID);
  }

  // The code matches a step of the secret not used before (replay refused on every instance).
  private async totpMatches(userId: string, secret: string, code: unknown): Promise<boolean> {
    const step = await this.totp.matchingStep(secret, typeof code === 'string' ? totpCodeOf(code) : null, this.now());
    return step !== null && (await this.store.markUsed(userId, `totp:${step}`, new Date(this.now() + USED_STEP_TTL_SECONDS * 1000)));
  }

  private async resealIfOld(userId: string, sealed: string, secret: string): Promise<void> {
    if (this.secrets.needsReseal(sealed)) await this.store.resealTotp(userId, sealed, this.secrets.seal(secret, userId));
  }

  private open(sealed: string, userId: string): string {
    const secret = this.secrets.open(sealed, userId);
    // Not a client's mistake: the key that sealed it is gone from mfaFlow.encryptionKey, or the row was tampered with.
    if (secret === null) throw new Error('mfaFlow: a stored TOTP secret does not open with the configured encryptionKey');
    return secret;
  }

  private async enabledState(userId: string): Promise<MfaState> {
    const state = await this.store.find(userId);
    if (!state.totp) throw new AuthError(AuthErrorCode.MFA_NOT_ENABLED);
    return state;
  }

  private async account(userId: string): Promise<UserRecord> {
    const user = await this.users.findById(userId);
    if (!user) throw new AuthError(AuthErrorCode.SESSION_REVOKED);
    return user;
  }

  private now(): number {
    return this.authConfig.clock();
  }
}

// `{ method, response }`: another flow's proof (a passkey's WebAuthn response), not a code.
function isMethodProof(value: unknown): value is { method: string; response: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { method?: unknown }).method === 'string';
}
