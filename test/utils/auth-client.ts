import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

export interface LoggedIn {
  username: string;
  password: string;
  userId: string;
  accessToken: string;
}

/** A fresh unique username, so tests never depend on each other. */
export function uniqueUsername(prefix = 'user'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Registers a new user and logs in once. */
export async function registerAndLogin(app: INestApplication, prefix = 'auth', username = uniqueUsername()): Promise<LoggedIn> {
  const password = 'correct horse battery staple';
  const registered = await request(app.getHttpServer()).post(`/${prefix}/register`).send({ username, password }).expect(201);
  const accessToken = await login(app, username, password, prefix);
  return { username, password, userId: registered.body.userId, accessToken };
}

/** Logs in and returns the access token. */
export async function login(app: INestApplication, username: string, password: string, prefix = 'auth'): Promise<string> {
  const response = await request(app.getHttpServer()).post(`/${prefix}/login`).send({ username, password }).expect(200);
  return response.body.accessToken as string;
}

/** Decodes a JWT's payload without verifying it. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The cookies a login sets with the cookie transport on, and the raw `Set-Cookie` values. */
export interface CookieJar {
  access: string;
  refresh: string;
  csrf: string;
  raw: string[];
}

/** Reads nest-warden's cookies out of a response's `Set-Cookie` header. */
export function jarOf(setCookie: string | string[] | undefined): CookieJar {
  const raw = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const value = (name: string): string => {
    const cookie = raw.find((c) => c.startsWith(`${name}=`));
    if (!cookie) throw new Error(`no ${name} cookie in Set-Cookie`);
    return cookie.split(';')[0]!.slice(name.length + 1);
  };
  // The test apps use secure cookies (the default), so the prefixed names.
  return { access: value('__Host-nw_access'), refresh: value('__Secure-nw_refresh'), csrf: value('__Host-nw_csrf'), raw };
}

/** Registers a new user and logs in once with the cookie transport on. */
export async function registerAndLoginWithCookies(
  app: INestApplication,
  username = uniqueUsername('cookie'),
): Promise<{ username: string; userId: string; jar: CookieJar; body: Record<string, unknown> }> {
  const password = 'correct horse battery staple';
  const http = request(app.getHttpServer());
  const registered = await http.post('/auth/register').send({ username, password }).expect(201);
  const login = await http.post('/auth/login').send({ username, password }).expect(200);
  return {
    username,
    userId: registered.body.userId as string,
    jar: jarOf(login.headers['set-cookie']),
    body: login.body as Record<string, unknown>,
  };
}
