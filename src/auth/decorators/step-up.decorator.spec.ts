import { describe, expect, it } from '@jest/globals';
import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY, RECENT_LOGIN_KEY, REQUIRE_MFA_KEY } from '../auth.constants.js';
import { PublicRoutes } from './public-routes.js';
import { Public } from './public.decorator.js';
import { RequireMfa, RequireRecentLogin } from './step-up.decorator.js';

type Handler = (...args: unknown[]) => unknown;

/** The part of an ExecutionContext that PublicRoutes reads. */
const contextOf = (type: abstract new (...args: never[]) => unknown, handler: Handler): ExecutionContext =>
  ({ getHandler: () => handler, getClass: () => type }) as unknown as ExecutionContext;

const handlerOf = (type: { prototype: object }, name: string): Handler => (type.prototype as Record<string, Handler>)[name]!;

describe('RequireMfa', () => {
  it('marks a handler and a class', () => {
    class Routes {
      @RequireMfa()
      marked(): void {}
      plain(): void {}
    }
    @RequireMfa()
    class Marked {}
    const reflector = new Reflector();
    expect(reflector.get(REQUIRE_MFA_KEY, handlerOf(Routes, 'marked'))).toBe(true);
    expect(reflector.get(REQUIRE_MFA_KEY, handlerOf(Routes, 'plain'))).toBeUndefined();
    expect(reflector.get(REQUIRE_MFA_KEY, Marked)).toBe(true);
  });
});

describe('RequireRecentLogin', () => {
  it.each([0, -1, 1.5, 2_592_001, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p seconds with a TypeError', (seconds) => {
    expect(() => RequireRecentLogin(seconds)).toThrow(TypeError);
    expect(() => RequireRecentLogin(seconds)).toThrow('RequireRecentLogin: seconds must be an integer from 1 to 2592000');
  });

  it('refuses seconds that are not a number', () => {
    expect(() => RequireRecentLogin('60' as unknown as number)).toThrow(TypeError);
  });

  it.each<[string, number | undefined, number]>([
    ['no seconds, as 0 (the module default)', undefined, 0],
    ['1 second', 1, 1],
    ['300 seconds', 300, 300],
    ['the most, 30 days', 2_592_000, 2_592_000],
  ])('takes %s', (_label, seconds, stored) => {
    class Routes {
      @RequireRecentLogin(seconds)
      handler(): void {}
    }
    expect(new Reflector().get(RECENT_LOGIN_KEY, handlerOf(Routes, 'handler'))).toBe(stored);
  });
});

describe('PublicRoutes.ruleOf', () => {
  class Plain {
    open(): void {}
    @Public()
    publicOne(): void {}
    @RequireMfa()
    mfa(): void {}
    @RequireRecentLogin()
    recentDefault(): void {}
    @RequireRecentLogin(300)
    recent300(): void {}
    @RequireMfa()
    @RequireRecentLogin(60)
    both(): void {}
  }

  @Public()
  class PublicClass {
    open(): void {}
    // The handler's metadata wins over the class's.
    @SetMetadata(IS_PUBLIC_KEY, false)
    closed(): void {}
  }

  @RequireMfa()
  @RequireRecentLogin(600)
  class StepUpClass {
    inherited(): void {}
    @RequireRecentLogin(60)
    stricter(): void {}
    @SetMetadata(REQUIRE_MFA_KEY, false)
    withoutMfa(): void {}
  }

  const OPEN = { isPublic: false, requireMfa: false, recentLogin: null };

  it.each<[string, abstract new () => unknown, string, { isPublic: boolean; requireMfa: boolean; recentLogin: number | null }]>([
    ['an undecorated handler', Plain, 'open', OPEN],
    ['@Public() on the handler', Plain, 'publicOne', { isPublic: true, requireMfa: false, recentLogin: null }],
    ['@RequireMfa() on the handler', Plain, 'mfa', { isPublic: false, requireMfa: true, recentLogin: null }],
    ['@RequireRecentLogin() on the handler', Plain, 'recentDefault', { isPublic: false, requireMfa: false, recentLogin: 0 }],
    ['@RequireRecentLogin(300) on the handler', Plain, 'recent300', { isPublic: false, requireMfa: false, recentLogin: 300 }],
    ['both on the handler', Plain, 'both', { isPublic: false, requireMfa: true, recentLogin: 60 }],
    ['@Public() on the class', PublicClass, 'open', { isPublic: true, requireMfa: false, recentLogin: null }],
    ['a handler overriding the class @Public()', PublicClass, 'closed', OPEN],
    ['both on the class', StepUpClass, 'inherited', { isPublic: false, requireMfa: true, recentLogin: 600 }],
    ['the handler seconds over the class seconds', StepUpClass, 'stricter', { isPublic: false, requireMfa: true, recentLogin: 60 }],
    ['a handler overriding the class @RequireMfa()', StepUpClass, 'withoutMfa', { isPublic: false, requireMfa: false, recentLogin: 600 }],
  ])('reads %s', (_label, type, name, expected) => {
    const routes = new PublicRoutes(new Reflector());
    const context = contextOf(type, handlerOf(type, name));
    expect(routes.ruleOf(context)).toEqual(expected);
    expect(routes.isPublic(context)).toBe(expected.isPublic);
  });

  it('answers each route its own rule when asked about several in turn (the cache keys on class and handler)', () => {
    const routes = new PublicRoutes(new Reflector());
    const mfa = contextOf(Plain, handlerOf(Plain, 'mfa'));
    const open = contextOf(Plain, handlerOf(Plain, 'open'));
    const recent = contextOf(Plain, handlerOf(Plain, 'recent300'));
    for (let round = 0; round < 3; round++) {
      expect(routes.ruleOf(mfa)).toMatchObject({ requireMfa: true, recentLogin: null });
      expect(routes.ruleOf(mfa)).toMatchObject({ requireMfa: true, recentLogin: null });
      expect(routes.ruleOf(open)).toEqual(OPEN);
      expect(routes.ruleOf(recent)).toMatchObject({ requireMfa: false, recentLogin: 300 });
    }
  });

  it('tells apart one handler under two classes: a subclass carrying the rule', () => {
    class Base {
      shared(): void {}
    }
    @RequireMfa()
    class Guarded extends Base {}
    const shared = handlerOf(Base, 'shared');
    expect(handlerOf(Guarded, 'shared')).toBe(shared);
    const routes = new PublicRoutes(new Reflector());
    expect(routes.ruleOf(contextOf(Base, shared))).toEqual(OPEN);
    expect(routes.ruleOf(contextOf(Guarded, shared))).toEqual({ isPublic: false, requireMfa: true, recentLogin: null });
    expect(routes.ruleOf(contextOf(Base, shared))).toEqual(OPEN);
  });

  it('hands out frozen rules', () => {
    const routes = new PublicRoutes(new Reflector());
    expect(Object.isFrozen(routes.ruleOf(contextOf(Plain, handlerOf(Plain, 'both'))))).toBe(true);
    expect(Object.isFrozen(routes.ruleOf(contextOf(Plain, handlerOf(Plain, 'open'))))).toBe(true);
  });
});
