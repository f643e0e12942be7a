import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuthModule } from './auth/index.js';
import { AuthHealthModule } from './auth/terminus/index.js';
import { demoDatabaseImports } from './demo/demo-database.js';
import { demoEmailFlow } from './demo/demo-email.js';
import { demoMfaFlow } from './demo/demo-mfa.js';
import { demoOidcFlows } from './demo/demo-oidc.js';
import { demoPasskeysFlow } from './demo/demo-passkeys.js';
import { demoAuthOptions, withDemoMetrics } from './demo/demo-options.js';
import { DemoPageController } from './demo/demo-page.controller.js';
import { DemoMetrics, DemoMetricsModule } from './demo/metrics.controller.js';
import { ProfileController } from './demo/profile.controller.js';

/**
 * The demo app: nest-warden with the global guard. Options are read from the environment
 * when the app starts (see `demoAuthOptions`): in-memory stores unless AUTH_SESSION_STORE=redis,
 * users in SQL with AUTH_DATABASE_URL (TypeORM, migrations run at start), and sessions there too
 * with AUTH_SESSION_STORE=sql. The email flow (verification, password reset) mails over SMTP_URL,
 * or to the log without it (see `demoEmailFlow`). TOTP is on, its secrets encrypted with AUTH_MFA_KEY
 * (see `demoMfaFlow`), passkeys for APP_URL's host (see `demoPasskeysFlow`), and "Sign in with ..." an
 * OpenID Provider when AUTH_OIDC_ISSUER is set (see `demoOidcFlows`). The web page at `/` (`DemoPageController`) clicks through all of it.
 * With AUTH_METRICS=1, audit events are counted and the stores timed on prom-client, served at `GET /metrics` (see `DemoMetricsModule`).
 */
@Module({
  imports: [
    ...demoDatabaseImports(),
    AuthModule.forRootAsync({
      imports: [DemoMetricsModule.fromEnv()],
      inject: [
        { token: DataSource, optional: true },
        { token: DemoMetrics, optional: true },
      ],
      useFactory: (dataSource?: DataSource, metrics?: DemoMetrics) =>
        withDemoMetrics(demoAuthOptions(process.env, dataSource), metrics?.sink),
      globalGuard: true,
      flows: [demoEmailFlow(), demoMfaFlow(), demoPasskeysFlow(), ...demoOidcFlows()],
    }),
    AuthHealthModule,
  ],
  controllers: [ProfileController, DemoPageController],
})
export class AppModule {}
