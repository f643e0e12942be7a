import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthHealthIndicator } from './auth-health.indicator.js';

/**
 * `TerminusModule` with {@link AuthHealthIndicator}: import it beside `AuthModule`, and a
 * controller of the importing module can inject both `HealthCheckService` and the indicator.
 * An app that configures `TerminusModule.forRoot(...)` itself provides `AuthHealthIndicator` in
 * that module instead.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [AuthModule.forRoot({ secret }), AuthHealthModule],
 *   controllers: [HealthController],
 * })
 * class AppModule {}
 * ```
 */
@Module({ imports: [TerminusModule], providers: [AuthHealthIndicator], exports: [AuthHealthIndicator, TerminusModule] })
export class AuthHealthModule {}
