// The answer bodies of the module's own routes, as OpenAPI models. Each class mirrors the
// TypeScript type the route answers with (and `implements` it where the JSON is that type), so
// the document and the code cannot drift apart unnoticed; their schemas take that type's name.
import type { RegisteredUser } from '../accounts/account.service.js';
import type { MeResponse } from '../auth.controller.js';
import { IdentityViewDto } from '../flows/oidc/oidc.dto.js';
import { PasskeyRequestOptionsDto } from '../flows/passkeys/passkeys.dto.js';
import type { CookieReauthResponse, CookieTokenResponse, ReauthResponse, TokenResponse } from '../http/token-responder.js';
import type { LoginChallenge, SecondFactorStatus } from '../login/second-factor.js';
import { ApiProperty, ApiResponseModel } from '../openapi.js';

const ACCESS_TOKEN_EXAMPLE = 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

/** `POST /auth/register`'s answer. */
@ApiResponseModel('The new account')
export class RegisteredUserDto implements RegisteredUser {
  @ApiProperty({ example: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' })
  readonly userId!: string;

  @ApiProperty({ example: 'alice' })
  readonly username!: string;

  @ApiProperty({ required: false, example: 'alice@example.com', description: 'The address given at registration, unverified' })
  readonly email?: string;
}

/** The tokens of a new or renewed session, in the body (bearer transport). */
@ApiResponseModel('The tokens of a new or renewed session, in the body (bearer transport)')
export class TokenResponseDto implements TokenResponse {
  @ApiProperty({ description: 'A JWT: send it as Authorization: Bearer <token>', example: ACCESS_TOKEN_EXAMPLE })
  readonly accessToken!: string;

  @ApiProperty({
    description: 'Opaque and single use: trade it at POST /auth/refresh',
    example: 'q8KZb1mW2sYfR0tVx3cD.Zs9fW3aXyL7uVb2nTq4eH1jK5mN8pQ2rS6tU9vW0xY3',
  })
  readonly refreshToken!: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  readonly tokenType!: 'Bearer';

  @ApiProperty({ type: 'integer', description: 'Seconds until the access token expires', example: 900 })
  readonly expiresIn!: number;

  @ApiProperty({
    required: false,
    description: "Login, with the login throttle on: send it back as deviceToken at this client's next logins",
  })
  readonly deviceToken?: string;
}

/** The same answer with the cookie transport: the tokens went into cookies, out of the script's reach. */
@ApiResponseModel('The tokens of a new or renewed session went into cookies (cookie transport): the access, refresh and CSRF cookies')
export class CookieTokenResponseDto implements CookieTokenResponse {
  @ApiProperty({ enum: ['Cookie'], example: 'Cookie' })
  readonly tokenType!: 'Cookie';

  @ApiProperty({ type: 'integer', description: 'Seconds until the access cookie expires', example: 900 })
  readonly expiresIn!: number;
}

/** `POST /auth/reauthenticate`'s answer: a new access token for the same session. */
@ApiResponseModel('A new access token for the same session, whose last login is now (the refresh token stays)')
export class ReauthResponseDto implements ReauthResponse {
  @ApiProperty({ example: ACCESS_TOKEN_EXAMPLE })
  readonly accessToken!: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  readonly tokenType!: 'Bearer';

  @ApiProperty({ type: 'integer', example: 900 })
  readonly expiresIn!: number;
}

/** `POST /auth/reauthenticate`'s answer to a caller signed in by cookie: the new access token is in its cookie. */
@ApiResponseModel('The new access token went into the access cookie (cookie transport)')
export class CookieReauthResponseDto implements CookieReauthResponse {
  @ApiProperty({ enum: ['Cookie'], example: 'Cookie' })
  readonly tokenType!: 'Cookie';

  @ApiProperty({ type: 'integer', example: 900 })
  readonly expiresIn!: number;
}

/** A login's answer for an account with a second factor: no session yet. */
@ApiResponseModel('The password was right and the account has a second factor: finish at POST /auth/mfa/verify')
export class LoginChallengeDto implements LoginChallenge {
  @ApiProperty({ enum: [true], example: true })
  readonly mfaRequired!: true;

  @ApiProperty({ description: 'Single use and short-lived: send it to POST /auth/mfa/verify with a code or passkey' })
  readonly mfaToken!: string;

  @ApiProperty({ type: [String], description: 'What the second step may use: totp, recovery, passkey', example: ['totp', 'recovery'] })
  readonly methods!: string[];

  @ApiProperty({
    type: () => PasskeyRequestOptionsDto,
    required: false,
    description: 'With passkey among the methods: the options for navigator.credentials.get(), bound to this mfaToken',
  })
  readonly passkey?: PasskeyRequestOptionsDto;
}

/** The caller's second factors, in `GET /auth/me`. */
@ApiResponseModel("The caller's second factors (with mfaFlow)")
export class SecondFactorStatusDto implements SecondFactorStatus {
  @ApiProperty({ description: 'Whether TOTP is on' })
  readonly totp!: boolean;

  @ApiProperty({ type: 'integer', example: 10 })
  readonly recoveryCodesLeft!: number;
}

/** `GET /auth/me`'s answer. */
@ApiResponseModel("The caller, with the flows' fields")
export class MeResponseDto implements MeResponse {
  [field: string]: unknown;

  @ApiProperty({ example: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' })
  readonly userId!: string;

  @ApiProperty({ example: 'alice' })
  readonly username!: string;

  @ApiProperty({ description: "The id of the caller's session" })
  readonly sessionId!: string;

  @ApiProperty({ required: false, example: 'alice@example.com', description: 'When the account has an address' })
  readonly email?: string;

  @ApiProperty({ required: false, description: 'Whether that address is verified (present with email)' })
  readonly emailVerified?: boolean;

  @ApiProperty({ type: () => SecondFactorStatusDto, required: false, description: 'With mfaFlow' })
  readonly mfa?: SecondFactorStatusDto;

  @ApiProperty({ type: () => [IdentityViewDto], required: false, description: 'With oidcFlow: the linked identities' })
  readonly identities?: IdentityViewDto[];
}

/** One public key of `GET /.well-known/jwks.json` (RFC 7517). */
@ApiResponseModel('A public verification key (RFC 7517)')
export class JwkDto {
  @ApiProperty({ enum: ['RSA', 'EC', 'OKP'], example: 'OKP' })
  readonly kty!: string;

  @ApiProperty({ example: '2026-01' })
  readonly kid!: string;

  @ApiProperty({ enum: ['RS256', 'ES256', 'EdDSA'], example: 'EdDSA' })
  readonly alg!: string;

  @ApiProperty({ enum: ['sig'], example: 'sig' })
  readonly use!: string;

  @ApiProperty({ required: false, description: 'EC and OKP keys: the curve', example: 'Ed25519' })
  readonly crv?: string;

  @ApiProperty({ required: false, description: 'EC and OKP keys' })
  readonly x?: string;

  @ApiProperty({ required: false, description: 'EC keys' })
  readonly y?: string;

  @ApiProperty({ required: false, description: 'RSA keys: the modulus' })
  readonly n?: string;

  @ApiProperty({ required: false, description: 'RSA keys: the exponent' })
  readonly e?: string;
}

/** `GET /.well-known/jwks.json`'s answer. */
@ApiResponseModel('The public keys that verify access tokens; empty with a shared HS256 secret')
export class JwksDto {
  @ApiProperty({ type: () => [JwkDto] })
  readonly keys!: JwkDto[];
}
