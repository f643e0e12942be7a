// The answer bodies of the second-factor enrolment routes, as OpenAPI models.
import { ApiProperty, ApiResponseModel } from '../../openapi.js';
import type { RecoveryCodes, TotpSetup } from './totp-factor.service.js';

/** `POST /auth/mfa/totp/setup`'s answer. */
@ApiResponseModel('A pending TOTP secret for the authenticator app: confirm it with its first code')
export class TotpSetupDto implements TotpSetup {
  @ApiProperty({ description: 'Base32, for typing into an app by hand', example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' })
  readonly secret!: string;

  @ApiProperty({ example: 'otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme' })
  readonly otpauthUrl!: string;

  @ApiProperty({ description: 'The otpauth URL as an SVG QR code' })
  readonly qrCodeSvg!: string;
}

/** The recovery codes of `POST /auth/mfa/totp/confirm` and `POST /auth/mfa/recovery-codes`. */
@ApiResponseModel('Recovery codes, shown this once: each logs in once in place of a TOTP code')
export class RecoveryCodesDto implements RecoveryCodes {
  @ApiProperty({ type: [String], example: ['4f7k2-9xq3m', 'b8d1r-2vz6p'] })
  readonly recoveryCodes!: string[];
}
