import { Injectable } from '@nestjs/common';
import type { RequestMeta } from '../../interfaces/request-meta.interface.js';
import { SecondFactorMethod } from '../../login/second-factor.js';
import { PasskeyService } from './passkey.service.js';

/**
 * A passkey as a second factor beside TOTP (with `mfaFlow`): an account with TOTP on and a
 * passkey gets `"passkey"` in the login challenge's `methods`, with request options bound to the
 * `mfaToken` under `passkey`, and answers at `POST /auth/mfa/verify { mfaToken, passkey }`.
 */
@Injectable()
export class PasskeySecondFactor extends SecondFactorMethod {
  readonly name = 'passkey';

  constructor(private readonly passkeys: PasskeyService) {
    super();
  }

  enrolled(userId: string): Promise<boolean> {
    return this.passkeys.has(userId);
  }

  options(userId: string, mfaToken: string): Promise<unknown> {
    return this.passkeys.secondStepOptions(userId, mfaToken);
  }

  verify(userId: string, mfaToken: string, proof: unknown, meta: RequestMeta): Promise<string[]> {
    return this.passkeys.verifySecondStep(userId, mfaToken, proof, meta);
  }
}
