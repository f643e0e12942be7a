import { Controller, Get, Header } from '@nestjs/common';
import type { JWK } from 'jose';
import { Public } from './decorators/public.decorator.js';
import { TokenService } from './tokens/token.service.js';

/**
 * `GET /.well-known/jwks.json`: the public keys of the asymmetric signing and verification
 * keys (RS256, ES256, EdDSA), with `kid`, `alg` and `use: "sig"`, so other services can verify
 * nest-warden's access tokens. Empty with a shared HS256 secret, which is never published.
 */
@Controller('.well-known')
export class JwksController {
  constructor(private readonly tokens: TokenService) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): { keys: JWK[] } {
    return this.tokens.jwks();
  }
}
