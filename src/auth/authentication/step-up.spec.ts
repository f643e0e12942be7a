import { describe, expect, it } from '@jest/globals';
import { AuthErrorCode } from '../auth.errors.js';
import type { RouteRule } from '../decorators/public-routes.js';
import { hasSecondFactor, SECOND_FACTOR_AMR, stepUpRefusal } from './step-up.js';

const NOW_MS = Date.UTC(2030, 0, 1);
const NOW = NOW_MS / 1000;
const DEFAULT_SECONDS = 900;

const rule = (overrides: Partial<RouteRule> = {}): RouteRule => ({ isPublic: false, requireMfa: false, recentLogin: null, ...overrides });

describe('hasSecondFactor', () => {
  it.each<[string, readonly string[] | undefined, boolean]>([
    ['no amr', undefined, false],
    ['an empty amr', [], false],
    ['a password alone', ['pwd'], false],
    ['unknown methods', ['pwd', 'sms-ish', 'face'], false],
    ['a method in another case', ['OTP'], false],
    ['a password and a one-time code', ['pwd', 'otp'], true],
    ['a hardware key', ['hwk'], true],
    ['a software key', ['swk'], true],
    ['several factors', ['mfa'], true],
  ])('%s: %s', (_label, amr, expected) => {
    expect(hasSecondFactor(amr)).toBe(expected);
  });

  it('counts exactly otp, hwk, swk and mfa as second factors, in a frozen list', () => {
    expect([...SECOND_FACTOR_AMR].sort()).toEqual(['hwk', 'mfa', 'otp', 'swk']);
    expect(Object.isFrozen(SECOND_FACTOR_AMR)).toBe(true);
  });
});

describe('stepUpRefusal', () => {
  it('refuses nothing without a rule, whatever the claims', () => {
    expect(stepUpRefusal(rule(), {}, NOW_MS, DEFAULT_SECONDS)).toBeNull();
    expect(stepUpRefusal(rule(), { amr: ['pwd'], auth_time: NOW - 86_400 }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
  });

  describe('requireMfa', () => {
    const mfa = rule({ requireMfa: true });

    it.each<[string, readonly string[] | undefined, string | null]>([
      ['no amr', undefined, AuthErrorCode.MFA_REQUIRED],
      ['["pwd"]', ['pwd'], AuthErrorCode.MFA_REQUIRED],
      ['[]', [], AuthErrorCode.MFA_REQUIRED],
      ['["pwd", "otp"]', ['pwd', 'otp'], null],
      ['["hwk"]', ['hwk'], null],
    ])('with amr %s: %s', (_label, amr, expected) => {
      expect(stepUpRefusal(mfa, { amr, auth_time: NOW }, NOW_MS, DEFAULT_SECONDS)).toBe(expected);
    });

    it('does not ask for a recent login', () => {
      expect(stepUpRefusal(mfa, { amr: ['pwd', 'otp'] }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
      expect(stepUpRefusal(mfa, { amr: ['pwd', 'otp'], auth_time: NOW - 86_400 * 30 }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
    });
  });

  describe('recentLogin', () => {
    it('0 uses the default seconds: passes at exactly the default, refuses one second over', () => {
      const recent = rule({ recentLogin: 0 });
      expect(stepUpRefusal(recent, { auth_time: NOW - 900 }, NOW_MS, 900)).toBeNull();
      expect(stepUpRefusal(recent, { auth_time: NOW - 901 }, NOW_MS, 900)).toBe(AuthErrorCode.REAUTH_REQUIRED);
      // Another default moves the limit.
      expect(stepUpRefusal(recent, { auth_time: NOW - 60 }, NOW_MS, 60)).toBeNull();
      expect(stepUpRefusal(recent, { auth_time: NOW - 61 }, NOW_MS, 60)).toBe(AuthErrorCode.REAUTH_REQUIRED);
      expect(stepUpRefusal(recent, { auth_time: NOW - 3600 }, NOW_MS, 3600)).toBeNull();
    });

    it('explicit seconds win over the default, both ways', () => {
      const strict = rule({ recentLogin: 300 });
      expect(stepUpRefusal(strict, { auth_time: NOW - 300 }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
      expect(stepUpRefusal(strict, { auth_time: NOW - 301 }, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.REAUTH_REQUIRED);
      const lenient = rule({ recentLogin: 3600 });
      expect(stepUpRefusal(lenient, { auth_time: NOW - 3600 }, NOW_MS, 60)).toBeNull();
      expect(stepUpRefusal(lenient, { auth_time: NOW - 3601 }, NOW_MS, 60)).toBe(AuthErrorCode.REAUTH_REQUIRED);
    });

    it('counts whole seconds of the clock: the boundary holds through the last millisecond of its second', () => {
      const recent = rule({ recentLogin: 60 });
      expect(stepUpRefusal(recent, { auth_time: NOW - 60 }, NOW_MS + 999, DEFAULT_SECONDS)).toBeNull();
      expect(stepUpRefusal(recent, { auth_time: NOW - 60 }, NOW_MS + 1000, DEFAULT_SECONDS)).toBe(AuthErrorCode.REAUTH_REQUIRED);
    });

    it('passes a login of this very second', () => {
      expect(stepUpRefusal(rule({ recentLogin: 1 }), { auth_time: NOW }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
      expect(stepUpRefusal(rule({ recentLogin: 1 }), { auth_time: NOW - 2 }, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.REAUTH_REQUIRED);
    });

    it('refuses a token without auth_time', () => {
      expect(stepUpRefusal(rule({ recentLogin: 0 }), {}, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.REAUTH_REQUIRED);
      expect(stepUpRefusal(rule({ recentLogin: 300 }), { amr: ['pwd', 'otp'] }, NOW_MS, DEFAULT_SECONDS)).toBe(
        AuthErrorCode.REAUTH_REQUIRED,
      );
    });

    it('does not ask for a second factor', () => {
      expect(stepUpRefusal(rule({ recentLogin: 300 }), { amr: ['pwd'], auth_time: NOW }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
      expect(stepUpRefusal(rule({ recentLogin: 300 }), { auth_time: NOW }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
    });
  });

  describe('both rules', () => {
    const both = rule({ requireMfa: true, recentLogin: 300 });

    it('passes only a second factor with a recent login', () => {
      expect(stepUpRefusal(both, { amr: ['pwd', 'otp'], auth_time: NOW - 300 }, NOW_MS, DEFAULT_SECONDS)).toBeNull();
    });

    it('refuses a second factor with an old or absent login: AUTH_REAUTH_REQUIRED', () => {
      expect(stepUpRefusal(both, { amr: ['pwd', 'otp'], auth_time: NOW - 301 }, NOW_MS, DEFAULT_SECONDS)).toBe(
        AuthErrorCode.REAUTH_REQUIRED,
      );
      expect(stepUpRefusal(both, { amr: ['hwk'] }, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.REAUTH_REQUIRED);
    });

    it('refuses a missing second factor first, recent login or not: AUTH_MFA_REQUIRED', () => {
      expect(stepUpRefusal(both, { amr: ['pwd'], auth_time: NOW }, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.MFA_REQUIRED);
      expect(stepUpRefusal(both, { amr: ['pwd'], auth_time: NOW - 86_400 }, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.MFA_REQUIRED);
      expect(stepUpRefusal(both, {}, NOW_MS, DEFAULT_SECONDS)).toBe(AuthErrorCode.MFA_REQUIRED);
    });
  });
});
