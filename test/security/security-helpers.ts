import { createHmac } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SecurityAppModule } from '../fixtures/security/app.module.js';
import { createApp, TEST_SECRET } from '../utils/app.js';

/** The only keys of every nest-warden error body, sorted. */
export const ERROR_KEYS = ['code', 'message', 'statusCode'];

/** The password every helper-made user gets: long enough for the default policy. */
export const PASSWORD = 'correct horse battery staple';

/** A booted security host app listening on 127.0.0.1, and its base URL. */
export interface RunningApp {
  app: INestApplication;
  port: number;
  baseUrl: string;
}

/**
 * Boots the security fixture with createApp (AuthBodyErrorFilter, no x-powered-by) and
 * listens on a free loopback port, so raw `node:http` requests (duplicate headers, exact
 * bytes) reach the same server as supertest.
 */
export async function startSecurityApp(): Promise<RunningApp> {
  const app = await createApp(SecurityAppModule);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** Asserts a nest-warden error: the exact status, the exact code, and exactly the three keys. */
export function expectAuthError(response: { status: number; body: unknown }, status: number, code: string): void {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { statusCode: status, code, message: expect.any(String) },
  });
}

/** base64url of a JSON value, or of a string taken as is (to send non-JSON segments). */
export function b64(part: unknown): string {
  return Buffer.from(typeof part === 'string' ? part : JSON.stringify(part), 'utf8').toString('base64url');
}

/**
 * A compact JWS built by hand with node:crypto: any header, any payload (JSON or a raw
 * string), an HMAC over `header.payload` with the given key and hash.
 */
export function hmacJws(header: unknown, payload: unknown, key: string | Buffer = TEST_SECRET, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** Seconds since the epoch. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The answer to a raw request. `body` is the parsed JSON, or `undefined` when the text is not JSON. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: unknown;
}

/**
 * A request through node:http with headers exactly as given: the same name twice sends two
 * header lines (supertest would merge or overwrite them), and the body goes out byte for byte.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Array<[string, string]> = [],
  body?: Buffer | string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path });
    const grouped = new Map<string, string[]>();
    for (const [name, value] of headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped) request.setHeader(name, values.length === 1 ? values[0]! : values);
    if (body !== undefined && !grouped.has('Content-Length')) request.setHeader('Content-Length', Buffer.byteLength(body));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body: parsed });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}
