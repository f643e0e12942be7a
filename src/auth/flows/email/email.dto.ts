import { IsNotEmpty, IsString, MaxLength, ValidateIf } from 'class-validator';
import { IsEmailAddress } from '../../dto/credentials.dto.js';
import { ApiProperty, ApiResponseModel } from '../../openapi.js';
import { LOGIN_USERNAME_INPUT_MAX_LENGTH, PASSWORD_INPUT_MAX_LENGTH } from '../../passwords/credential-policy.js';

// Generous: a mangled token is a 400 AUTH_VERIFICATION_TOKEN_INVALID, not a validation error.
const TOKEN_INPUT_MAX_LENGTH = 512;

/** Body of `POST /auth/email/verify`. */
export class VerifyEmailDto {
  @ApiProperty({ description: 'The token from the link (after #token=)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(TOKEN_INPUT_MAX_LENGTH)
  readonly token!: string;
}

/** Body of `POST /auth/email/change`. */
export class ChangeEmailDto {
  @ApiProperty({ example: 'alice@example.org' })
  @IsEmailAddress()
  readonly newEmail!: string;

  @ApiProperty({ format: 'password', description: 'The current password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly password!: string;
}

/** Body of `POST /auth/password/forgot`: `email` or `username`. */
export class ForgotPasswordDto {
  @ApiProperty({ required: false, example: 'alice@example.com' })
  @ValidateIf((body: ForgotPasswordDto) => body.username === undefined)
  @IsEmailAddress()
  readonly email?: string;

  @ApiProperty({ required: false, example: 'alice' })
  // Validated when present, null included (IsOptional would let null through).
  @ValidateIf((body: ForgotPasswordDto) => body.username !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(LOGIN_USERNAME_INPUT_MAX_LENGTH)
  readonly username?: string;
}

/** Body of `POST /auth/password/reset`. The new password's policy is applied by the service. */
export class ResetPasswordDto {
  @ApiProperty({ description: 'The token from the link (after #token=)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(TOKEN_INPUT_MAX_LENGTH)
  readonly token!: string;

  @ApiProperty({ format: 'password', minLength: 8, maxLength: 128 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_INPUT_MAX_LENGTH)
  readonly newPassword!: string;
}

/** Body of `POST /auth/email/verification/resend`. */
export class ResendVerificationDto {
  @ApiProperty({ example: 'alice@example.com' })
  @IsEmailAddress()
  readonly email!: string;
}

/** `POST /auth/email/verify`'s answer. */
@ApiResponseModel("The link's address is the account's, verified")
export class EmailVerifiedDto {
  @ApiProperty({ enum: [true], example: true })
  readonly emailVerified!: true;
}
