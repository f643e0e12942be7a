import {
  isEmail,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  registerDecorator,
  ValidateIf,
  type ValidationOptions,
} from 'class-validator';
import { ApiProperty } from '../openapi.js';
import { CredentialPolicy, LOGIN_USERNAME_INPUT_MAX_LENGTH, PASSWORD_INPUT_MAX_LENGTH } from '../passwords/credential-policy.js';

const usernamePolicy = new CredentialPolicy();

/** Validates a username with the same rules `AuthService` applies. */
export function IsUsername(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isUsername',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options ? { options } : {}),
      validator: {
        validate: (value: unknown) => usernamePolicy.checkUsername(value) === null,
        defaultMessage: (args) => usernamePolicy.checkUsername(args?.value) ?? 'username is invalid',
      },
    });
  };
}

/** Longest email address accepted (RFC 5321's path limit less the brackets). */
export const EMAIL_MAX_LENGTH = 254;

const EMAIL_RULES = { allow_utf8_local_part: true, require_tld: true, allow_ip_domain: false } as const;
// No quoted local parts, whitespace, control or format characters (bidi, zero-width), or lone
// surrogates: an address is shown in mails and passed to mailers, and must read as what it is.
const UNSAFE_IN_EMAIL = /["\s\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * Whether `value` is an email address as nest-warden accepts them (what {@link IsEmailAddress}
 * checks): `local@domain.tld`, UTF-8 allowed, at most 254 characters, no quoted local part,
 * whitespace, control or format characters.
 */
export function isEmailAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > EMAIL_MAX_LENGTH || UNSAFE_IN_EMAIL.test(value)) return false;
  try {
    return isEmail(value, EMAIL_RULES);
  } catch {
    // validator's checks can throw on text encodeURI refuses.
    return false;
  }
}

/** Validates an email address with {@link isEmailAddress}. */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isEmailAddress',
      target: target.constructor,
      propertyName: String(propertyName),
      ...(options ? { options } : {}),
      validator: {
        validate: (value: unknown) => isEmailAddress(value),
        defaultMessage: (args) => `${args?.property ?? 'email'} must be an email address`,
      },
    });
  };
}

/** Body of `POST /auth/register`. The password's length policy is applied by the service. */
export class RegisterDto {
  @ApiProperty({ example: 'alice', minLength: 3, maxLength: 64, description: 'Letters, digits and . _ @ + -' })
  @IsString()
  @IsUsername()
  readonly username!: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 8, maxLength: 128, format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly password!: string;

  @ApiProperty({
    required: false,
    example: 'alice@example.com',
    description: 'An email address for the account (required when the email flow requires verified addresses)',
  })
  @IsOptional()
  @IsEmailAddress()
  readonly email?: string;
}

/** Body of `POST /auth/login`. Only shapes are checked: a wrong pair is a 401, not a 400. */
export class LoginDto {
  @ApiProperty({ example: 'alice', required: false, description: 'The username (or, with loginIdentifier "either", an email address)' })
  // Required unless an email is given; whether the app takes either is the controller's call (loginIdentifier).
  @ValidateIf((body: LoginDto) => body.email === undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(LOGIN_USERNAME_INPUT_MAX_LENGTH)
  readonly username!: string;

  @ApiProperty({
    required: false,
    example: 'alice@example.com',
    description: 'With loginIdentifier "email" or "either": the account’s email address',
  })
  // Validated when present, null included (IsOptional would let null through).
  @ValidateIf((body: LoginDto) => body.email !== undefined)
  @IsString()
  @IsNotEmpty()
  // Shapes only, as for the username: a malformed address finds no account (a 401).
  @MaxLength(LOGIN_USERNAME_INPUT_MAX_LENGTH)
  readonly email?: string;

  @ApiProperty({ example: 'correct horse battery staple', format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly password!: string;

  @ApiProperty({
    required: false,
    description:
      'The deviceToken of an earlier successful login on this client: a known device is not locked out by failures from elsewhere',
  })
  @IsOptional()
  @IsString()
  // Generous: a stale or mangled proof is simply not trusted, never a 400.
  @MaxLength(512)
  readonly deviceToken?: string;
}

/** Body of `POST /auth/refresh`. */
export class RefreshDto {
  @ApiProperty({
    description: 'The refresh token from login or the last refresh (single use); with the cookie transport, the refresh cookie instead',
    required: false,
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  // Generous on purpose: a mix-up (an access token sent here) is a 401, not a 400.
  @MaxLength(4096)
  readonly refreshToken?: string;
}

/** Body of `POST /auth/password`. The new password's policy is applied by the service. */
export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly currentPassword!: string;

  @ApiProperty({ format: 'password', minLength: 8, maxLength: 128 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly newPassword!: string;
}

/** The longest second-factor code accepted: a TOTP code is 6 digits, a recovery code 11 characters with its dash. */
export const MFA_CODE_MAX_LENGTH = 64;

/** Body of `POST /auth/mfa/verify`: the second step of a login. */
export class MfaVerifyDto {
  @ApiProperty({ description: 'The mfaToken the login answered' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  readonly mfaToken!: string;

  @ApiProperty({
    description: 'A 6-digit TOTP code, or one of the recovery codes (or give passkey instead)',
    example: '123456',
    required: false,
  })
  @ValidateIf((body: { passkey?: unknown }) => body.passkey === undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(MFA_CODE_MAX_LENGTH)
  readonly code?: string;

  @ApiProperty({
    description:
      "With passkeysFlow: the browser's WebAuthn authentication response (JSON) to the challenge's passkey options, instead of a code",
    type: Object,
    required: false,
  })
  @IsOptional()
  @IsObject()
  readonly passkey?: Record<string, unknown>;
}

/** Body of `POST /auth/reauthenticate`. */
export class ReauthenticateDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly password!: string;

  @ApiProperty({ description: 'A TOTP or recovery code: required when the account has a second factor', required: false })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MFA_CODE_MAX_LENGTH)
  readonly code?: string;
}
