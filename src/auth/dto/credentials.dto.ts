import {
  IsEmail,
  IsNotEmpty,
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

/** Validates an email address as nest-warden accepts them: RFC 5322 shape, UTF-8 allowed, at most 254 characters. */
export function IsEmailAddress(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    IsString(options)(target, propertyName);
    MaxLength(EMAIL_MAX_LENGTH, options)(target, propertyName);
    IsEmail(
      { allow_utf8_local_part: true, require_tld: true, allow_ip_domain: false },
      { message: 'email must be an email address', ...options },
    )(target, propertyName);
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
  @IsOptional()
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
