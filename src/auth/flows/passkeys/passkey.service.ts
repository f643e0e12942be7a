import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AuditTrail } from '../../audit/audit-trail.js';
import type { AuthConfig } from '../../auth.config.js';
import { AUTH_CONFIG } from '../../auth.constants.js';
import { AuthError, AuthErrorCode, StoreUnavailableError, TooManyAttemptsError } from '../../auth.errors.js';
import type { AuthUser } from '../../interfaces/auth-user.interface.js';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { OneTimeTokenStore } from '../../one-time-tokens/one-time-token.store.js';
import { LoginDefence } from '../../throttle/login-defence.js';
import { UserStore, type UserRecord } from '../../users/user-store.js';
import { hasSecondFactor } from '../../authentication/step-up.js';
import { sessionFactors } from '../../sessions/session.interface.js';
import { SessionStore } from '../../sessions/session-store.js';
import { MfaStore } from '../mfa/mfa-store.js';
import { PASSKEY_CHALLENGE_STORE, PASSKEYS_FLOW_CONFIG, type PasskeysFlowConfig } from './passkeys-flow.options.js';
import { PasskeyStore, type Passkey } from './passkey-store.js';
import { assertionOf, attestationOf } from './webauthn-json.js';

/** What the management routes show of a passkey: never its key. */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** `multiDevice` (can sync) or `singleDevice`. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports: string[];
}

/** The purposes of the challenges in the challenge store. */
const REGISTRATION = 'passkey-registration';
const LOGIN = 'passkey-login';
const SECOND_STEP = 'passkey-second-step';

/** The `amr` (RFC 8176) of a passkey: a hardware-bound key, and `user` when the authenticator verified its user. */
export const PASSKEY_AMR = 'hwk';
export const USER_VERIFIED_AMR = 'user';

/** The `amr` of a session opened by a passkey without a password: the key and its user verification. */
export const PASSKEY_LOGIN_AMR: readonly string[] = Object.freeze([PASSKEY_AMR, USER_VERIFIED_AMR]);

/** WebAuthn's longest credential id, in bytes. */
const MAX_CREDENTIAL_ID_BYTES = 1023;
/** A COSE public key is about 77 bytes (P-256) or 44 (Ed25519), an RSA-4096 one under 600: room to spare. */
const MAX_PUBLIC_KEY_BYTES = 2048;

/** The default name of a new passkey when none is given. */
const DEFAULT_NAME = 'Passkey';

/**
 * Passkeys (WebAuthn, on `@simplewebauthn/server`): registration by a signed-in account,
 * passwordless login with discoverable credentials, the second step after a password, and the
 * account's list, names and removal. Each ceremony's challenge is single use, bound to what
 * asked for it (the session that registers, the login's `mfaToken`) and kept in the challenge
 * store, so any instance can finish a ceremony another began; origins and the RP id are checked
 * on every response, and the signature counter is compare-and-set in the store.
 */
@Injectable()
export class PasskeyService {
  constructor(
    @Inject(PASSKEYS_FLOW_CONFIG) private readonly config: PasskeysFlowConfig,
    @Inject(AUTH_CONFIG) private readonly authConfig: AuthConfig,
    @Inject(PASSKEY_CHALLENGE_STORE) private readonly challenges: OneTimeTokenStore,
    private readonly store: PasskeyStore,
    private readonly users: UserStore,
    private readonly defence: LoginDefence,
    private readonly audit: AuditTrail,
    private readonly sessions: SessionStore,
    // With mfaFlow: an account with TOTP on adds a passkey only from a session signed in with it.
    @Optional() private readonly mfa?: MfaStore,
  ) {}

  /** Creation options for a new passkey of the signed-in account; its challenge is bound to this session. */
  async registrationOptions(user: AuthUser): Promise<PublicKeyCredentialCreationOptionsJSON> {
    await this.requireStrongestFactor(user);
    const existing = await this.store.listByUser(user.userId);
    if (existing.length >= this.config.maxPerAccount) {
      throw new AuthError(
        AuthErrorCode.PASSKEY_REGISTRATION_FAILED,
        `An account has at most ${this.config.maxPerAccount} passkeys: remove one first`,
      );
    }
    // A newer request voids the older challenge of the same session's account.
    const challenge = await this.issue(REGISTRATION, user.userId, user.sessionId, true);
    return generateRegistrationOptions({
      rpName: this.config.rpName,
      rpID: this.config.rpId,
      userName: user.username,
      userID: userHandle(user.userId),
      challenge,
      timeout: this.config.challengeTtlSeconds * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: this.config.userVerification },
    });
  }

  /** Verifies a registration response and stores the passkey: 201's body. */
  async register(user: AuthUser, response: unknown, name: string | undefined, meta: RequestMeta): Promise<PasskeyView> {
    const registration = attestationOf(response);
    if (!registration) throw this.registrationFailed(user.userId, meta, AuthErrorCode.VALIDATION_FAILED);
    await this.requireStrongestFactor(user);
    const check = this.challengeCheck(REGISTRATION, user.userId, user.sessionId);
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: registration as RegistrationResponseJSON,
        expectedChallenge: check.verify,
        expectedOrigin: [...this.config.origins],
        expectedRPID: this.config.rpId,
        requireUserVerification: this.config.userVerification === 'required',
      });
    } catch (error) {
      throw (
        check.outage ??
        this.registrationFailed(user.userId, meta, check.refused ? AuthErrorCode.PASSKEY_CHALLENGE_INVALID : undefined, error)
      );
    }
    if (check.outage) throw check.outage;
    if (!verified.verified) throw this.registrationFailed(user.userId, meta);
    const info = verified.registrationInfo;
    // The credential in the authenticator data is the one the response names, of a size WebAuthn allows.
    if (
      info.credential.id !== registration.id ||
      Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES ||
      info.credential.publicKey.length > MAX_PUBLIC_KEY_BYTES
    ) {
      throw this.registrationFailed(user.userId, meta);
    }
    if ((await this.store.listByUser(user.userId)).length >= this.config.maxPerAccount) {
      throw new AuthError(
        AuthErrorCode.PASSKEY_REGISTRATION_FAILED,
        `An account has at most ${this.config.maxPerAccount} passkeys: remove one first`,
      );
    }
    const passkey: Passkey = {
      id: randomBytes(16).toString('base64url'),
      userId: user.userId,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: (info.credential.transports ?? []).filter((transport) => typeof transport === 'string').slice(0, 8),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name: name ?? DEFAULT_NAME,
      createdAt: this.authConfig.clock(),
      lastUsedAt: null,
    };
    if (!(await this.store.create(passkey))) {
      this.audit.record('passkey.registration.failed', { userId: user.userId, reason: AuthErrorCode.PASSKEY_ALREADY_REGISTERED }, meta);
      throw new AuthError(AuthErrorCode.PASSKEY_ALREADY_REGISTERED);
    }
    this.audit.record('passkey.registered', { userId: user.userId, sessionId: user.sessionId }, meta);
    return view(passkey);
  }

  // A passkey logs in on its own (two factors) and outlives password changes: an account with a
  // second factor on adds one only from a session that proved it (signed in, or reauthenticated,
  // with the code), so a stolen password-only session cannot plant one. 403 AUTH_MFA_REQUIRED.
  private async requireStrongestFactor(user: AuthUser): Promise<void> {
    if (!this.mfa || !(await this.mfa.find(user.userId)).totp) return;
    const session = await this.sessions.get(user.sessionId);
    if (session && session.userId === user.userId && hasSecondFactor(sessionFactors(session))) return;
    throw new AuthError(
      AuthErrorCode.MFA_REQUIRED,
      'This account has two-factor authentication on: reauthenticate with your code before adding a passkey',
    );
  }

  /** Request options for a passwordless login (discoverable credentials: no username); throttled per client IP. */
  async loginOptions(meta: RequestMeta): Promise<PublicKeyCredentialRequestOptionsJSON> {
    await this.admitCeremony(meta);
    const challenge = await this.issue(LOGIN, '-', '', false);
    return generateAuthenticationOptions({
      rpID: this.config.rpId,
      challenge,
      timeout: this.config.challengeTtlSeconds * 1000,
      userVerification: 'required',
    });
  }

  /**
   * Verifies a passwordless login's assertion: the account whose passkey signed it, with user
   * verification. The session is then `LoginPipeline.loginVerified(user, PASSKEY_LOGIN_AMR, meta)`,
   * as `POST /auth/passkeys/login/verify` does (the pipeline is not a dependency here: the second
   * factor, which the pipeline asks, uses this service).
   */
  async authenticate(response: unknown, meta: RequestMeta): Promise<UserRecord> {
    const reservation = await this.admitFailure(meta);
    let user: UserRecord;
    try {
      user = await this.verifyAssertion(response, LOGIN, null, '', true, meta);
    } catch (error) {
      await (error instanceof AuthError && error.code !== AuthErrorCode.STORE_UNAVAILABLE ? reservation.failed() : reservation.abandoned());
      throw error;
    }
    await reservation.succeeded();
    return user;
  }

  /** The account's passkeys, oldest first. */
  async list(userId: string): Promise<PasskeyView[]> {
    return (await this.store.listByUser(userId)).map(view);
  }

  /** Renames one of the account's passkeys; 404 `AUTH_PASSKEY_NOT_FOUND` for another's or none. */
  async rename(user: AuthUser, id: string, name: string, meta: RequestMeta): Promise<PasskeyView> {
    const renamed = await this.store.rename(user.userId, id, name);
    if (!renamed) throw new AuthError(AuthErrorCode.PASSKEY_NOT_FOUND);
    this.audit.record('passkey.renamed', { userId: user.userId, sessionId: user.sessionId }, meta);
    return view(renamed);
  }

  /** Removes one of the account's passkeys; 404 `AUTH_PASSKEY_NOT_FOUND` for another's or none. */
  async remove(user: AuthUser, id: string, meta: RequestMeta): Promise<void> {
    if (!(await this.store.remove(user.userId, id))) throw new AuthError(AuthErrorCode.PASSKEY_NOT_FOUND);
    this.audit.record('passkey.removed', { userId: user.userId, sessionId: user.sessionId }, meta);
  }

  /** Whether the account has a passkey: what makes it one with a second factor. */
  async has(userId: string): Promise<boolean> {
    return (await this.store.listByUser(userId)).length > 0;
  }

  /** Request options for the second step after a password, bound to that login's `mfaToken`, naming the account's passkeys. */
  async secondStepOptions(userId: string, mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passkeys = await this.store.listByUser(userId);
    const challenge = await this.issue(SECOND_STEP, userId, digest(mfaToken), false);
    return generateAuthenticationOptions({
      rpID: this.config.rpId,
      challenge,
      timeout: this.config.challengeTtlSeconds * 1000,
      userVerification: this.config.userVerification,
      allowCredentials: passkeys.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
    });
  }

  /**
   * Verifies the second step's assertion: one of `userId`'s passkeys, over the challenge bound to
   * `mfaToken`. The `amr` values it adds: `hwk`, and `user` when the authenticator verified its user.
   */
  async verifySecondStep(userId: string, mfaToken: string, response: unknown, meta: RequestMeta): Promise<string[]> {
    const verified: { userVerified?: boolean } = {};
    await this.verifyAssertion(
      response,
      SECOND_STEP,
      userId,
      digest(mfaToken),
      this.config.userVerification === 'required',
      meta,
      verified,
    );
    return verified.userVerified ? [PASSKEY_AMR, USER_VERIFIED_AMR] : [PASSKEY_AMR];
  }

  // The assertion's passkey, checked, and its account: `userId` when the ceremony is for one.
  private async verifyAssertion(
    response: unknown,
    purpose: string,
    userId: string | null,
    subject: string,
    requireUserVerification: boolean,
    meta: RequestMeta,
    out: { userVerified?: boolean } = {},
  ): Promise<UserRecord> {
    const assertion = assertionOf(response);
    if (!assertion) throw this.loginFailed(userId, meta, AuthErrorCode.VALIDATION_FAILED);
    const passkey = await this.store.findByCredentialId(assertion.id);
    // An unknown credential, or another account's: the same answer, so no probe learns which.
    if (!passkey || (userId !== null && passkey.userId !== userId)) throw this.loginFailed(userId, meta);
    this.flagCounterRegression(passkey, assertion.response.authenticatorData, meta);
    const check = this.challengeCheck(purpose, userId ?? '-', subject);
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response: assertion as AuthenticationResponseJSON,
        expectedChallenge: check.verify,
        expectedOrigin: [...this.config.origins],
        expectedRPID: this.config.rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: Buffer.from(passkey.publicKey, 'base64url'),
          counter: passkey.counter,
          transports: [],
        },
        requireUserVerification,
      });
    } catch (error) {
      throw (
        check.outage ?? this.loginFailed(passkey.userId, meta, check.refused ? AuthErrorCode.PASSKEY_CHALLENGE_INVALID : undefined, error)
      );
    }
    if (check.outage) throw check.outage;
    if (!verified.verified) throw this.loginFailed(passkey.userId, meta);
    const info = verified.authenticationInfo;
    // Compare and set: a counter another ceremony moved meanwhile (a cloned key racing the real one) fails this one.
    const recorded = await this.store.recordUse(passkey.credentialId, passkey.counter, {
      counter: info.newCounter,
      backedUp: info.credentialBackedUp,
      usedAt: this.authConfig.clock(),
    });
    if (!recorded) throw this.loginFailed(passkey.userId, meta);
    const user = await this.users.findById(passkey.userId);
    if (!user) throw this.loginFailed(passkey.userId, meta);
    out.userVerified = info.userVerified;
    return user;
  }

  // A signature counter that did not move forward (when either side keeps one) is what a cloned
  // authenticator shows: the ceremony fails in verification, and this says why, for an operator.
  private flagCounterRegression(passkey: Passkey, authenticatorData: string, meta: RequestMeta): void {
    const data = Buffer.from(authenticatorData, 'base64url');
    if (data.length < 37) return;
    const counter = data.readUInt32BE(33);
    if ((counter > 0 || passkey.counter > 0) && counter <= passkey.counter) {
      this.audit.record('passkey.clone_suspected', { userId: passkey.userId, reason: AuthErrorCode.PASSKEY_LOGIN_FAILED }, meta);
    }
  }

  // A new challenge for `purpose`, bound to `userId` and `subject`, in the challenge store.
  private async issue(purpose: string, userId: string, subject: string, replace: boolean): Promise<Uint8Array<ArrayBuffer>> {
    const challenge = randomBytes(32);
    await this.challenges.save(
      {
        hash: digest(challenge.toString('base64url')),
        purpose,
        userId,
        subject,
        expiresAt: this.authConfig.clock() + this.config.challengeTtlSeconds * 1000,
      },
      { replace },
    );
    return new Uint8Array(challenge);
  }

  // The challenge check handed to SimpleWebAuthn: takes the challenge from the store (single use,
  // whatever comes after) and says whether it was ours for this ceremony. An outage is kept to be
  // rethrown as itself (503), not as a failed ceremony.
  private challengeCheck(purpose: string, userId: string, subject: string) {
    const state: { refused: boolean; outage: Error | undefined; verify: (challenge: unknown) => Promise<boolean> } = {
      refused: false,
      outage: undefined,
      verify: async (challenge: unknown) => {
        // Whatever the client data holds: only a challenge of ours has this shape (32 bytes, base64url).
        if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
          state.refused = true;
          return false;
        }
        try {
          const taken = await this.challenges.take(digest(challenge), [purpose]);
          const ours = taken !== null && taken.userId === userId && taken.subject === subject && taken.expiresAt > this.authConfig.clock();
          state.refused = !ours;
          return ours;
        } catch (error) {
          // The store's own error (StoreUnavailableError for an outage), never a failed ceremony.
          state.outage = error instanceof Error ? error : new StoreUnavailableError({ cause: error });
          return false;
        }
      },
    };
    return state;
  }

  private async admitCeremony(meta: RequestMeta): Promise<void> {
    const client = this.defence.clientKey(meta);
    if (client === null) return;
    await this.defence.admitRequest(
      [{ key: `passkey-ceremony:${client}`, limit: this.config.maxCeremoniesPerIp }],
      this.config.windowSeconds,
      'Too many passkey ceremonies; try again later',
    );
  }

  private async admitFailure(meta: RequestMeta) {
    try {
      return await this.defence.admitFailuresPerIp('passkey-login', meta, this.config.maxFailuresPerIp, this.config.windowSeconds);
    } catch (error) {
      if (error instanceof TooManyAttemptsError) this.audit.record('login.throttled', { reason: AuthErrorCode.TOO_MANY_ATTEMPTS }, meta);
      throw error;
    }
  }

  private registrationFailed(userId: string, meta: RequestMeta, code?: AuthErrorCode, cause?: unknown): AuthError {
    const failure = code ?? AuthErrorCode.PASSKEY_REGISTRATION_FAILED;
    this.audit.record('passkey.registration.failed', { userId, reason: failure }, meta);
    return new AuthError(
      failure,
      failure === AuthErrorCode.VALIDATION_FAILED ? 'response must be a WebAuthn registration response (JSON)' : undefined,
      { cause },
    );
  }

  private loginFailed(userId: string | null, meta: RequestMeta, code?: AuthErrorCode, cause?: unknown): AuthError {
    const failure = code ?? AuthErrorCode.PASSKEY_LOGIN_FAILED;
    this.audit.record('passkey.login.failed', { ...(userId === null ? {} : { userId }), reason: failure }, meta);
    return new AuthError(
      failure,
      failure === AuthErrorCode.VALIDATION_FAILED ? 'response must be a WebAuthn authentication response (JSON)' : undefined,
      {
        cause,
      },
    );
  }
}

// The WebAuthn user handle of an account: opaque, stable, and not the id itself (authenticators
// may show or sync it). Discoverable logins find the account by credential id, not by handle.
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update('nest-warden passkey user handle\n').update(userId).digest());
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function view(passkey: Passkey): PasskeyView {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: new Date(passkey.createdAt).toISOString(),
    lastUsedAt: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt).toISOString(),
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: [...passkey.transports],
  };
}
