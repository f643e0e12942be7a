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
  const registered = await request(app.getHttpServer())
    .post(`/${prefix}/register`)
    .send({ username, password })
    .expect(201);
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
