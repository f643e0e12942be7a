import { Inject, Injectable } from '@nestjs/common';
import { AuthError, AuthErrorCode } from '../../auth.errors.js';
import { LoginStep, RegistrationStep, type LoginStepContext, type RegistrationContext } from '../../flows/auth-flow.js';
import type { UserRecord } from '../../users/user-store.js';
import { EMAIL_FLOW_CONFIG, type EmailFlowConfig } from './email-flow.options.js';
import { EmailVerificationService } from './email-verification.service.js';

/** With `emailVerification.required`: refuses the login of an account whose address is not verified (after its password passed). */
@Injectable()
export class EmailVerifiedStep extends LoginStep {
  readonly name = 'email-verified';
  // The password was right: not a guess, so not on the account's failure budget.
  override readonly refusalIsFailure = false;

  constructor(@Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig) {
    super();
  }

  // The account as the first factor read it: no second read of the store per login.
  check({ user }: LoginStepContext): void {
    if (this.config.required && (!user.email || user.emailVerified !== true)) throw new AuthError(AuthErrorCode.EMAIL_NOT_VERIFIED);
  }
}

/** Registration: an address is required with `emailVerification.required`; a new address gets its verification link. */
@Injectable()
export class EmailRegistrationStep extends RegistrationStep {
  readonly name = 'email';

  constructor(
    private readonly verification: EmailVerificationService,
    @Inject(EMAIL_FLOW_CONFIG) private readonly config: EmailFlowConfig,
  ) {
    super();
  }

  override check({ email }: RegistrationContext): void {
    if (this.config.required && email === undefined) throw new AuthError(AuthErrorCode.VALIDATION_FAILED, 'email is required');
  }

  override async created(user: Readonly<Pick<UserRecord, 'id' | 'username' | 'email'>>, { meta }: RegistrationContext): Promise<void> {
    if (this.config.sendOnRegistration && user.email) await this.verification.sendVerification(user, meta);
  }
}
