// The app the HTTP benchmarks load (bench-module.ts builds it): one process, four routes.
//   GET /open     no guard
//   GET /recipe   the NestJS docs recipe: passport-jwt with a string secret, no session check
//   GET /guarded  nest-warden's AuthGuard (JWT + live-session check) on BENCH_STORE (memory|redis|sql;
//                 sql: users, sessions and counters in BENCH_DATABASE_URL through TypeORM)
// on Express, or Fastify with BENCH_ADAPTER=fastify; BENCH_MAX_HASHES sets maxConcurrentHashes and
// BENCH_LOGIN_THROTTLE=off turns the login throttle off (for the login-flood measurement).
// POST /auth/*   nest-warden's controller, to get tokens.
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UseGuards, type CanActivate, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AuthGuard as PassportAuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AuthGuard, AuthModule, CurrentUser, type AuthModuleOptions } from '../src/auth/index.js';
// The Redis stores' entry point: nestjs-warden/redis in the package.
import { RedisSessionStore } from '../src/auth/redis/index.js';
// And the SQL stores': nestjs-warden/typeorm.
import {
  TypeOrmSessionStore,
  TypeOrmThrottleStore,
  TypeOrmUserStore,
  wardenEntities,
  wardenMigrations,
} from '../src/auth/typeorm/index.js';
import { DataSource } from 'typeorm';

const SECRET = process.env.AUTH_SECRET ?? 'bench-secret-that-is-at-least-32-bytes!!';

// Exactly the docs recipe (docs.nestjs.com/recipes/passport): string secret, validate returns the payload.
@Injectable()
class RecipeJwtStrategy extends PassportStrategy(Strategy, 'recipe-jwt') {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      ignoreExpiration: false,
      secretOrKey: SECRET,
      algorithms: ['HS256'],
    });
  }

  validate(payload: { sub: string }): { userId: string } {
    return { userId: payload.sub };
  }
}

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller()
class BenchController {
  @Get('open')
  open(): { ok: true } {
    return { ok: true };
  }

  // Diagnostics: a guard that always says yes, with the same parameter decorator as /guarded.
  @Get('noop-guard')
  @UseGuards(AllowGuard)
  noopGuard(@CurrentUser('userId') userId: string): { ok: true; userId: string } {
    return { ok: true, userId };
  }

  @Get('recipe')
  @UseGuards(PassportAuthGuard('recipe-jwt'))
  recipe(): { ok: true } {
    return { ok: true };
  }

  @Get('guarded')
  @UseGuards(AuthGuard)
  guarded(@CurrentUser('userId') userId: string): { ok: true; userId: string } {
    return { ok: true, userId };
  }
}

async function authOptions(): Promise<AuthModuleOptions> {
  const store = process.env.BENCH_STORE ?? 'memory';
  const hashing = {
    ...(process.env.BENCH_MAX_HASHES ? { maxConcurrentHashes: Number(process.env.BENCH_MAX_HASHES) } : {}),
    ...(process.env.BENCH_LOGIN_THROTTLE === 'off' ? { loginThrottle: false as const } : {}),
  };
  if (store === 'redis') {
    return {
      ...hashing,
      secret: SECRET,
      sessionStore: new RedisSessionStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: `bench-${process.pid}` }),
    };
  }
  if (store === 'sql') {
    const url = process.env.BENCH_DATABASE_URL;
    if (!url) throw new Error('BENCH_STORE=sql needs BENCH_DATABASE_URL');
    const dataSource = new DataSource({
      type: url.startsWith('postgres') ? 'postgres' : 'mariadb',
      url,
      entities: wardenEntities,
      migrations: wardenMigrations,
      migrationsRun: true,
    });
    await dataSource.initialize();
    return {
      ...hashing,
      secret: SECRET,
      userStore: new TypeOrmUserStore({ dataSource }),
      sessionStore: new TypeOrmSessionStore({ dataSource }),
      throttleStore: new TypeOrmThrottleStore({ dataSource }),
    };
  }
  return { ...hashing, secret: SECRET };
}

@Module({
  imports: [PassportModule, AuthModule.forRootAsync({ useFactory: authOptions })],
  controllers: [BenchController],
  providers: [RecipeJwtStrategy],
})
export class BenchModule {}

/** The bench app on Express, or on Fastify; not yet listening. */
export async function createBenchApp(adapter: 'express' | 'fastify'): Promise<INestApplication> {
  return adapter === 'fastify'
    ? NestFactory.create(BenchModule, new FastifyAdapter({ bodyLimit: 100 * 1024 }), { logger: ['error'] })
    : NestFactory.create(BenchModule, { logger: ['error'] });
}
