import { IsNotEmpty, IsOptional, IsString, MaxLength, registerDecorator, type ValidationOptions } from 'class-validator';
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
}

/** Body of `POST /auth/login`. Only shapes are checked: a wrong pair is a 401, not a 400. */
export class LoginDto {
  @ApiProperty({ example: 'alice' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(LOGIN_USERNAME_INPUT_MAX_LENGTH)
  readonly username!: string;

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
