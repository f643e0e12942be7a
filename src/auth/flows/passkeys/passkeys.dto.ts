// The answer bodies of the passkey routes, as OpenAPI models: the WebAuthn options
// @simplewebauthn/server makes (each class implements its type), and the passkeys shown.
import type {
  AttestationConveyancePreference,
  AuthenticationExtensionsClientInputs,
  AuthenticatorAttachment,
  AuthenticatorSelectionCriteria,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialDescriptorJSON,
  PublicKeyCredentialHint,
  PublicKeyCredentialParameters,
  PublicKeyCredentialRequestOptionsJSON,
  PublicKeyCredentialRpEntity,
  PublicKeyCredentialUserEntityJSON,
  ResidentKeyRequirement,
  UserVerificationRequirement,
} from '@simplewebauthn/server';
import { ApiProperty, ApiResponseModel } from '../../openapi.js';
import type { PasskeyView } from './passkey.service.js';

const HINTS: PublicKeyCredentialHint[] = ['hybrid', 'security-key', 'client-device'];
const REQUIREMENTS: UserVerificationRequirement[] = ['discouraged', 'preferred', 'required'];

/** One of the caller's passkeys: never its key. */
@ApiResponseModel('A passkey of the caller (never its key)')
export class PasskeyViewDto implements PasskeyView {
  @ApiProperty({ example: 'Xq3k9TmV0aB7cD1eF2gH4w', description: 'The id in /auth/passkeys/{id}' })
  readonly id!: string;

  @ApiProperty({ example: 'Work laptop' })
  readonly name!: string;

  @ApiProperty({ format: 'date-time' })
  readonly createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  readonly lastUsedAt!: string | null;

  @ApiProperty({ enum: ['singleDevice', 'multiDevice'], description: 'multiDevice: can sync between devices' })
  readonly deviceType!: 'singleDevice' | 'multiDevice';

  @ApiProperty({ description: 'Whether it is backed up (synced)' })
  readonly backedUp!: boolean;

  @ApiProperty({ type: [String], example: ['internal', 'hybrid'] })
  readonly transports!: string[];
}

/** The relying party of a registration. */
@ApiResponseModel('The relying party (the app) a passkey is for')
export class PasskeyRelyingPartyDto implements PublicKeyCredentialRpEntity {
  @ApiProperty({ required: false, example: 'example.com' })
  readonly id?: string;

  @ApiProperty({ example: 'Acme' })
  readonly name!: string;
}

/** The account a passkey is registered for. */
@ApiResponseModel('The account a new passkey is for')
export class PasskeyUserEntityDto implements PublicKeyCredentialUserEntityJSON {
  @ApiProperty({ description: 'The opaque user handle, base64url' })
  readonly id!: string;

  @ApiProperty({ example: 'alice' })
  readonly name!: string;

  @ApiProperty({ example: 'alice' })
  readonly displayName!: string;
}

/** A key type a registration accepts. */
@ApiResponseModel('A public key algorithm a registration accepts (COSE)')
export class PasskeyCredentialParametersDto implements PublicKeyCredentialParameters {
  @ApiProperty({ type: 'integer', example: -8, description: 'COSE algorithm: -8 EdDSA, -7 ES256, -257 RS256' })
  readonly alg!: number;

  @ApiProperty({ enum: ['public-key'] })
  readonly type!: 'public-key';
}

/** A credential named in a ceremony's options. */
@ApiResponseModel('A passkey named by its credential id')
export class PasskeyCredentialDescriptorDto implements PublicKeyCredentialDescriptorJSON {
  @ApiProperty({ description: 'The credential id, base64url' })
  readonly id!: string;

  @ApiProperty({ enum: ['public-key'] })
  readonly type!: string;

  @ApiProperty({ type: [String], required: false, example: ['internal'] })
  readonly transports?: string[];
}

/** What a registration asks of the authenticator. */
@ApiResponseModel('What a registration asks of the authenticator')
export class PasskeyAuthenticatorSelectionDto implements AuthenticatorSelectionCriteria {
  @ApiProperty({ enum: ['platform', 'cross-platform'], required: false })
  readonly authenticatorAttachment?: AuthenticatorAttachment;

  @ApiProperty({ required: false })
  readonly requireResidentKey?: boolean;

  @ApiProperty({ enum: REQUIREMENTS, required: false, example: 'required' })
  readonly residentKey?: ResidentKeyRequirement;

  @ApiProperty({ enum: REQUIREMENTS, required: false, example: 'preferred' })
  readonly userVerification?: UserVerificationRequirement;
}

/** `POST /auth/passkeys/register/options`' answer. */
@ApiResponseModel('Creation options for navigator.credentials.create() (PublicKeyCredentialCreationOptionsJSON)')
export class PasskeyCreationOptionsDto implements PublicKeyCredentialCreationOptionsJSON {
  @ApiProperty({ type: () => PasskeyRelyingPartyDto })
  readonly rp!: PasskeyRelyingPartyDto;

  @ApiProperty({ type: () => PasskeyUserEntityDto })
  readonly user!: PasskeyUserEntityDto;

  @ApiProperty({ description: 'base64url; single use, bound to this session, for the challenge lifetime' })
  readonly challenge!: string;

  @ApiProperty({ type: () => [PasskeyCredentialParametersDto] })
  readonly pubKeyCredParams!: PasskeyCredentialParametersDto[];

  @ApiProperty({ type: 'integer', required: false, description: 'Milliseconds', example: 300000 })
  readonly timeout?: number;

  @ApiProperty({
    type: () => [PasskeyCredentialDescriptorDto],
    required: false,
    description: "The account's passkeys, not to register twice",
  })
  readonly excludeCredentials?: PasskeyCredentialDescriptorDto[];

  @ApiProperty({ type: () => PasskeyAuthenticatorSelectionDto, required: false })
  readonly authenticatorSelection?: PasskeyAuthenticatorSelectionDto;

  @ApiProperty({ enum: HINTS, isArray: true, required: false })
  readonly hints?: PublicKeyCredentialHint[];

  @ApiProperty({ enum: ['none', 'indirect', 'direct', 'enterprise'], required: false, example: 'none' })
  readonly attestation?: AttestationConveyancePreference;

  @ApiProperty({ type: 'object', additionalProperties: true, required: false })
  readonly extensions?: AuthenticationExtensionsClientInputs;
}

/** `POST /auth/passkeys/login/options`' answer, and a login challenge's `passkey`. */
@ApiResponseModel('Request options for navigator.credentials.get() (PublicKeyCredentialRequestOptionsJSON)')
export class PasskeyRequestOptionsDto implements PublicKeyCredentialRequestOptionsJSON {
  @ApiProperty({ description: 'base64url; single use, for the challenge lifetime' })
  readonly challenge!: string;

  @ApiProperty({ type: 'integer', required: false, description: 'Milliseconds', example: 300000 })
  readonly timeout?: number;

  @ApiProperty({ required: false, example: 'example.com' })
  readonly rpId?: string;

  @ApiProperty({
    type: () => [PasskeyCredentialDescriptorDto],
    required: false,
    description: "The second step after a password: the account's passkeys (none for a passwordless login)",
  })
  readonly allowCredentials?: PasskeyCredentialDescriptorDto[];

  @ApiProperty({ enum: REQUIREMENTS, required: false, example: 'required' })
  readonly userVerification?: UserVerificationRequirement;

  @ApiProperty({ enum: HINTS, isArray: true, required: false })
  readonly hints?: PublicKeyCredentialHint[];

  @ApiProperty({ type: 'object', additionalProperties: true, required: false })
  readonly extensions?: AuthenticationExtensionsClientInputs;
}
