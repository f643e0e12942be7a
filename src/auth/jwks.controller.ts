import { Controller, Get, Header } from '@nestjs/common';
import type { JWK } from 'jose';
import { Public } from './decorators/public.decorator.js';
import { JwksDto } from './dto/responses.dto.js';
import { ApiOperation, ApiResponse, ApiTags } from './openapi.js';
import { TokenService } from './tokens/token.service.js';

/**
 * `GET /.well-known/jwks.json`: the public keys of the asymmetric signing and verification
 * keys (RS256, ES256, EdDSA), with `kid`, `alg` and `use: "sig"`, so other services can verify
 * nest-warden's access tokens. Empty with a shared HS256 secret, which is never published.
 */
@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly tokens: TokenService) {}

  @ApiOperation({ summary: 'The public keys that verify access tokens (JWKS)', operationId: 'authJwks' })
  @ApiResponse({ status: 200, description: 'The JSON Web Key Set; empty with a shared HS256 secret', type: JwksDto })
  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): { keys: JWK[] } {
    return this.tokens.jwks();
  }
}
