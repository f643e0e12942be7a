// The answer bodies of the OpenID Connect routes, as OpenAPI models.
import { ApiProperty, ApiResponseModel } from '../../openapi.js';
// Types from the store's file only: the root entry reaches this file, and must not reach openid-client.
import type { IdentityView } from './identity-store.js';

/** A provider one can sign in with, in `GET /auth/oauth/providers`. */
@ApiResponseModel('A provider one can sign in with: /auth/oauth/{id} starts the sign-in')
export class OidcProviderDto {
  @ApiProperty({ example: 'google' })
  readonly id!: string;

  @ApiProperty({ example: 'Google', description: 'What a sign-in button shows' })
  readonly name!: string;
}

/** One of the caller's linked identities. */
@ApiResponseModel("An identity at a provider, linked to the caller's account")
export class IdentityViewDto implements IdentityView {
  @ApiProperty({ example: 'N3m6zQ0bVc8xY1wT5rK2pA', description: 'The id in /auth/oauth/identities/{id}' })
  readonly id!: string;

  @ApiProperty({ example: 'google' })
  readonly provider!: string;

  @ApiProperty({ type: String, nullable: true, example: 'alice@example.com', description: 'The address the provider gave, if any' })
  readonly email!: string | null;

  @ApiProperty({ format: 'date-time' })
  readonly createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  readonly lastUsedAt!: string | null;
}

/** `POST /auth/oauth/{provider}/link`'s answer. */
@ApiResponseModel('Where to send the browser to link the provider (the state cookie is set)')
export class OidcAuthorizationDto {
  @ApiProperty({ format: 'uri', example: 'https://accounts.example.com/authorize?client_id=...&state=...' })
  readonly authorizationUrl!: string;
}
