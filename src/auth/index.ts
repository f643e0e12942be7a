// The public API of nestjs-warden. Named exports only: everything here is supported.
// Redis stores: 'nestjs-warden/redis'. WebSockets: 'nestjs-warden/websockets'. Test kits: 'nestjs-warden/testing'.
export { AccountService } from './accounts/account.service.js';
export type { PasswordChangeResult, RegisteredUser, RegistrationOptions } from './accounts/account.service.js';
export { ReauthenticationService } from './accounts/reauthentication.service.js';
export type { Reauthentication } from './accounts/reauthentication.service.js';
export { AuditSink, LoggerAuditSink } from './audit/audit-sink.js';
export { AuditTrail } from './audit/audit-trail.js';
export type { AuditFields } from './audit/audit-trail.js';
export type { AuthAuditEvent, AuthAuditEventName } from './audit/audit-sink.js';
export { combineAuditSinks, CompositeAuditSink } from './audit/combine-audit-sinks.js';
export { MIN_SECRET_BYTES } from './auth.config.js';
export type { AuthConfig } from './auth.config.js';
export { AUTH_CONFIG, IS_PUBLIC_KEY, JWT_STRATEGY_NAME, RECENT_LOGIN_KEY, REQUIRE_MFA_KEY } from './auth.constants.js';
export { AuthController } from './auth.controller.js';
export type { CookieReauthResponse, CookieTokenResponse, MeResponse, ReauthResponse, TokenResponse } from './auth.controller.js';
export {
  AUTH_ERROR_MESSAGES,
  AuthError,
  AuthErrorCode,
  AuthOptionsError,
  CredentialPolicyError,
  EmailTakenError,
  StoreUnavailableError,
  TooManyAttemptsError,
  UsernameTakenError,
} from './auth.errors.js';
export type { TokenFailureCode } from './auth.errors.js';
export { AuthGuard } from './auth.guard.js';
export type { GuardedRequest } from './auth.guard.js';
export { AuthModule } from './auth.module.js';
export { AuthService, createAuthService } from './auth.service.js';
export type { GenerateTokenOptions } from './auth.service.js';
export { Authenticator } from './authentication/authenticator.js';
export type { Authentication, RequestAuthentication } from './authentication/authenticator.js';
export { hasSecondFactor, SECOND_FACTOR_AMR } from './authentication/step-up.js';
export type { Clock } from './clock.js';
export { COOKIE_NAMES, CSRF_HEADER, SECURE_COOKIE_NAMES, TRANSPORT_HEADER } from './cookies/cookie-transport.js';
export type { CookieNames, CookieSettings, CookieTransportOptions } from './cookies/cookie-transport.js';
export { CurrentUser } from './decorators/current-user.decorator.js';
export { Public } from './decorators/public.decorator.js';
export { RequireMfa, RequireRecentLogin } from './decorators/step-up.decorator.js';
export {
  ChangePasswordDto,
  EMAIL_MAX_LENGTH,
  IsEmailAddress,
  IsUsername,
  LoginDto,
  MFA_CODE_MAX_LENGTH,
  MfaVerifyDto,
  ReauthenticateDto,
  RefreshDto,
  RegisterDto,
} from './dto/credentials.dto.js';
export {
  CookieReauthResponseDto,
  CookieTokenResponseDto,
  JwkDto,
  JwksDto,
  LoginChallengeDto,
  MeResponseDto,
  ReauthResponseDto,
  RegisteredUserDto,
  SecondFactorStatusDto,
  TokenResponseDto,
} from './dto/responses.dto.js';
export { AuthExceptionFilter, renderAuthError } from './filters/auth-exception.filter.js';
export { AuthBodyErrorFilter } from './filters/body-error.filter.js';
export { LOGIN_STEPS, LoginStep, REGISTRATION_STEPS, RegistrationStep } from './flows/auth-flow.js';
export type { AuthFlow, LoginStepContext, RegistrationContext } from './flows/auth-flow.js';
export { emailFlow } from './flows/email/email.flow.js';
export { EMAIL_FLOW_CONFIG } from './flows/email/email-flow.options.js';
export type {
  EmailFlowConfig,
  EmailFlowOptions,
  EmailFlowThrottleOptions,
  EmailLinks,
  FlowPartFactory,
} from './flows/email/email-flow.options.js';
export { DEFAULT_EMAIL_TEMPLATES, escapeHtml } from './flows/email/email-templates.js';
export type { EmailContent, EmailTemplateContext, EmailTemplates } from './flows/email/email-templates.js';
export {
  ChangeEmailDto,
  EmailVerifiedDto,
  ForgotPasswordDto,
  ResendVerificationDto,
  ResetPasswordDto,
  VerifyEmailDto,
} from './flows/email/email.dto.js';
export { EmailController, PasswordResetController } from './flows/email/email.controller.js';
export { EmailVerificationService } from './flows/email/email-verification.service.js';
export { PasswordResetService } from './flows/email/password-reset.service.js';
export type { ForgottenAccount } from './flows/email/password-reset.service.js';
export { RecoveryMail } from './flows/email/recovery-mail.js';
export { mfaFlow } from './flows/mfa/mfa.flow.js';
export { MFA_FLOW_CONFIG } from './flows/mfa/mfa-flow.options.js';
export type { MfaFlowConfig, MfaFlowOptions } from './flows/mfa/mfa-flow.options.js';
export { MAX_RECOVERY_CODES, MfaStore } from './flows/mfa/mfa-store.js';
export type { MfaState, PendingTotp, TotpFactor } from './flows/mfa/mfa-store.js';
export { InMemoryMfaStore } from './flows/mfa/in-memory-mfa.store.js';
export type { InMemoryMfaStoreOptions } from './flows/mfa/in-memory-mfa.store.js';
export { MfaCodeDto, MfaController } from './flows/mfa/mfa.controller.js';
export { RecoveryCodesDto, TotpSetupDto } from './flows/mfa/mfa.dto.js';
export { TotpFactorService } from './flows/mfa/totp-factor.service.js';
export type { RecoveryCodes, TotpSetup } from './flows/mfa/totp-factor.service.js';
export { SecretBox } from './flows/mfa/secret-box.js';
export type { SecretBoxKey } from './flows/mfa/secret-box.js';
export { Totp, TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './flows/mfa/totp.js';
export { IdentityStore } from './flows/oidc/identity-store.js';
export type { LinkedIdentity } from './flows/oidc/identity-store.js';
export { InMemoryIdentityStore } from './flows/oidc/in-memory-identity.store.js';
export { IdentityViewDto, OidcAuthorizationDto, OidcProviderDto } from './flows/oidc/oidc.dto.js';
export { passkeysFlow } from './flows/passkeys/passkeys.flow.js';
export { PASSKEY_CHALLENGE_STORE, PASSKEYS_FLOW_CONFIG } from './flows/passkeys/passkeys-flow.options.js';
export type { PasskeysFlowConfig, PasskeysFlowOptions } from './flows/passkeys/passkeys-flow.options.js';
export { MAX_PASSKEYS_PER_ACCOUNT, PasskeyStore } from './flows/passkeys/passkey-store.js';
export type { Passkey, PasskeyUse } from './flows/passkeys/passkey-store.js';
export { InMemoryPasskeyStore } from './flows/passkeys/in-memory-passkey.store.js';
export { PASSKEY_LOGIN_AMR, PasskeyService } from './flows/passkeys/passkey.service.js';
export { PasskeySecondFactor } from './flows/passkeys/passkey-second-factor.js';
export type { PasskeyView } from './flows/passkeys/passkey.service.js';
export { PasskeyLoginDto, PasskeyRegistrationDto, PasskeyRenameDto, PasskeysController } from './flows/passkeys/passkeys.controller.js';
export {
  PasskeyAuthenticatorSelectionDto,
  PasskeyCreationOptionsDto,
  PasskeyCredentialDescriptorDto,
  PasskeyCredentialParametersDto,
  PasskeyRelyingPartyDto,
  PasskeyRequestOptionsDto,
  PasskeyUserEntityDto,
  PasskeyViewDto,
} from './flows/passkeys/passkeys.dto.js';
export { SessionInfoDto } from './flows/sessions/sessions.dto.js';
export { AUTH_HTTP_ERRORS, AuthHttpException, authErrorResponse } from './http/http-errors.js';
export type { AuthErrorBody, AuthErrorResponse, AuthHttpErrorRule } from './http/http-errors.js';
export {
  addAuthSecuritySchemes,
  ApiAuthenticated,
  ApiAuthErrors,
  AUTH_SECURITY_SCHEMES,
  AuthErrorBodyDto,
} from './http/openapi-responses.js';
export type { ApiAuthenticatedOptions, SecuritySchemeTarget } from './http/openapi-responses.js';
export type {
  AuthModuleExtras,
  AuthModuleOptions,
  LoginIdentifier,
  LoginThrottleOptions,
} from './interfaces/auth-module-options.interface.js';
export { LogMailer } from './mail/log-mailer.js';
export { MailQueue } from './mail/mail-queue.js';
export type { MailQueueOptions } from './mail/mail-queue.js';
export { Mailer } from './mail/mailer.js';
export type { MailMessage } from './mail/mailer.js';
export { InMemoryOneTimeTokenStore } from './one-time-tokens/in-memory-one-time-token.store.js';
export type { InMemoryOneTimeTokenStoreOptions } from './one-time-tokens/in-memory-one-time-token.store.js';
export { OneTimeTokenStore } from './one-time-tokens/one-time-token.store.js';
export type { OneTimeToken } from './one-time-tokens/one-time-token.store.js';
export type { AuthUser } from './interfaces/auth-user.interface.js';
export type { RequestMeta } from './interfaces/request-meta.interface.js';
export { JwksController } from './jwks.controller.js';
export { JwtStrategy } from './jwt.strategy.js';
export { LoginPipeline } from './login/login-pipeline.js';
export { TokenResponder } from './http/token-responder.js';
export type { TokenAnswerOptions } from './http/token-responder.js';
export type { LoginOptions } from './login/login-pipeline.js';
export { SECOND_FACTOR_METHODS, SecondFactor, SecondFactorMethod, SecondFactorRequiredError } from './login/second-factor.js';
export type { LoginChallenge, SecondFactorProof, SecondFactorStatus, SecondStep } from './login/second-factor.js';
export {
  CredentialPolicy,
  DEFAULT_PASSWORD_POLICY,
  isCommonPassword,
  PASSWORD_INPUT_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from './passwords/credential-policy.js';
export type { PasswordPolicy } from './passwords/credential-policy.js';
export { Argon2ThreadError } from './passwords/argon2-threads.js';
export { Argon2PasswordHasher, OWASP_ARGON2ID, PasswordHasher } from './passwords/password-hasher.js';
export type { Argon2HasherOptions, Argon2Parameters, PasswordCheck } from './passwords/password-hasher.js';
export { PasswordService } from './passwords/password.service.js';
export type { HttpRequestLike } from './request-meta.js';
export { InMemorySessionStore } from './sessions/in-memory-session.store.js';
export type { InMemorySessionStoreOptions } from './sessions/in-memory-session.store.js';
export { sessionAuthTime, sessionEndsAt, sessionFactors } from './sessions/session.interface.js';
export type { LiveSession, RefreshRotation, Session } from './sessions/session.interface.js';
export { REFRESH_HISTORY_LENGTH, SessionStore } from './sessions/session-store.js';
export { SessionService } from './sessions/session.service.js';
export type { LoginResult, RefreshOutcome, SessionInfo } from './sessions/session.service.js';
export { InMemoryThrottleStore } from './throttle/in-memory-throttle.store.js';
export type { InMemoryThrottleStoreOptions } from './throttle/in-memory-throttle.store.js';
export { LoginDefence } from './throttle/login-defence.js';
export type { LoginAdmission } from './throttle/login-defence.js';
export type { AttemptReservation } from './throttle/attempt-throttle.js';
export { ThrottleStore } from './throttle/throttle-store.js';
export type { ThrottleCount } from './throttle/throttle-store.js';
export type { DerivedKeyPurpose, DerivedKeys } from './tokens/derived-keys.js';
export type { AccessTokenAlgorithm, JwtKeyOptions, KeySet, ResolvedKey } from './tokens/signing-keys.js';
export { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE, TokenService } from './tokens/token.service.js';
export type { AccessTokenClaims, TokenAuthentication, TokenVerification } from './tokens/token.service.js';
export { InMemoryUserStore } from './users/in-memory-user.store.js';
export type { HandshakeRefusal, WsClientLike } from './websockets/handshake-token.js';
export { foldEmail, foldUsername, UserStore } from './users/user-store.js';
export type { NewUser, UserRecord } from './users/user-store.js';
