import { Controller, Get, Header, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../auth/index.js';
import { PrometheusAuditSink } from '../auth/prometheus/index.js';

/**
 * `AUTH_METRICS`, checked: `1` or `true` turns the demo's metrics on; unset, empty, `0` or
 * `false` leaves them off. Anything else stops the start with an error naming the variable.
 */
export function demoMetricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.AUTH_METRICS ?? '').trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '' || value === '0' || value === 'false') return false;
  throw new Error(`AUTH_METRICS must be "1" or "true" (metrics on), or "0", "false" or unset (off), not "${env.AUTH_METRICS}"`);
}

/**
 * The demo's metrics: a registry of the app's own, so two apps in one process (the tests) keep
 * their counts apart, and the sink that counts into it.
 */
@Injectable()
export class DemoMetrics {
  readonly registry = new Registry();
  readonly sink = new PrometheusAuditSink({ registry: this.registry });
}

/**
 * `GET /metrics`: the Prometheus text exposition of {@link DemoMetrics}, public like any scrape
 * target of a demo (in production, keep it off the public network). Left out of the OpenAPI
 * document: it is for Prometheus, not for API clients.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: DemoMetrics) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** Holds {@link DemoMetrics} and `GET /metrics`, with `AUTH_METRICS` on; nothing without it. */
@Module({})
export class DemoMetricsModule {
  /** The module for `env`: with `AUTH_METRICS=1` (or `true`), {@link DemoMetrics} and {@link MetricsController}; else empty. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    if (!demoMetricsEnabled(env)) return { module: DemoMetricsModule };
    return { module: DemoMetricsModule, providers: [DemoMetrics], exports: [DemoMetrics], controllers: [MetricsController] };
  }
}
