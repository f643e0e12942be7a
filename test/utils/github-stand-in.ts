import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A GitHub user of the stand-in: what `/user` and `/user/emails` answer. */
export interface GitHubUser {
  id: number;
  login: string;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

/**
 * GitHub's OAuth 2 web flow and the two API routes a sign-in reads, as GitHub Enterprise Server
 * serves them (`/login/oauth/authorize`, `/login/oauth/access_token`, `/api/v3/user`,
 * `/api/v3/user/emails`), on a loopback port. github.com is not reachable from the test machine,
 * so this answers what GitHub's documentation says it answers, with its quirks: token errors
 * come with status 200 (`{ error: "bad_verification_code" }`), `token_type` is lowercase
 * `bearer`, scopes are comma-separated, the API refuses requests without a User-Agent (403),
 * PKCE S256 is checked, a code works once and only for its client, redirect URI and verifier.
 */
export interface GitHubStandIn {
  /** The Enterprise Server URL to give `githubProvider({ enterpriseUrl })`. */
  url: string;
  clientId: string;
  clientSecret: string;
  user(user: GitHubUser): void;
  /**
   * What GitHub does once the signed-in `login` approves (or denies) the app at `authorizationUrl`:
   * where it sends the browser back. Checks the request as GitHub does.
   */
  signIn(authorizationUrl: string, login: string, options?: { deny?: boolean }): Promise<URL>;
  /** Requests seen by the API routes, newest last: method, path and User-Agent. */
  apiRequests: Array<{ path: string; userAgent: string | undefined }>;
  /** The access tokens handed out, newest last. */
  issuedTokens: string[];
  /** Answer the token request without `token_type` (a malformed answer that still carries a token). */
  malformTokenAnswers: boolean;
  stop(): Promise<void>;
}

interface Grant {
  login: string;
  redirectUri: string;
  challenge: string;
  scope: string;
}

export async function startGitHubStandIn(redirectUris: string[]): Promise<GitHubStandIn> {
  const clientId = 'Iv1.nestwardentest';
  const clientSecret = 'a-github-stand-in-client-secret-of-40-chars';
  const users = new Map<string, GitHubUser>();
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, string>();
  const apiRequests: GitHubStandIn['apiRequests'] = [];

  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  };
  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (request.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const form = new URLSearchParams(await readBody(request));
        // client_secret_post, as GitHub documents it.
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
          return json(response, 200, { error: 'incorrect_client_credentials' });
        }
        const code = form.get('code') ?? '';
        const grant = codes.get(code);
        codes.delete(code);
        const verifier = form.get('code_verifier') ?? '';
        if (
          !grant ||
          form.get('redirect_uri') !== grant.redirectUri ||
          createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
        ) {
          return json(response, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        }
        const token = `gho_${randomBytes(18).toString('base64url')}`;
        tokens.set(token, grant.login);
        standIn.issuedTokens.push(token);
        const scope = grant.scope.split(' ').join(',');
        return json(
          response,
          200,
          standIn.malformTokenAnswers ? { access_token: token, scope } : { access_token: token, token_type: 'bearer', scope },
        );
      }
      if (request.method === 'GET' && (url.pathname === '/api/v3/user' || url.pathname === '/api/v3/user/emails')) {
        const userAgent = request.headers['user-agent'];
        apiRequests.push({ path: url.pathname, userAgent });
        if (!userAgent) return json(response, 403, { message: 'Request forbidden by administrative rules.' });
        const token = /^(?:Bearer|token) (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
        const user = token === undefined ? undefined : users.get(tokens.get(token) ?? '');
        if (!user) return json(response, 401, { message: 'Bad credentials' });
        if (url.pathname === '/api/v3/user') {
          const primary = user.emails.find((entry) => entry.primary);
          return json(response, 200, { id: user.id, login: user.login, email: primary?.email ?? null, type: 'User' });
        }
        return json(
          response,
          200,
          user.emails.map((entry) => ({ ...entry, visibility: entry.primary ? 'private' : null })),
        );
      }
      json(response, 404, { message: 'Not Found' });
    })().catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const standIn: GitHubStandIn = {
    url: base,
    clientId,
    clientSecret,
    apiRequests,
    issuedTokens: [],
    malformTokenAnswers: false,
    user: (user) => users.set(user.login, user),
    signIn: async (authorizationUrl, login, options = {}) => {
      const url = new URL(authorizationUrl);
      if (url.origin + url.pathname !== `${base}/login/oauth/authorize`) throw new Error(`not the stand-in's authorize URL: ${url.href}`);
      const params = url.searchParams;
      const redirectUri = params.get('redirect_uri') ?? '';
      if (params.get('client_id') !== clientId || !redirectUris.includes(redirectUri)) throw new Error('unknown client or redirect URI');
      if (params.get('code_challenge_method') !== 'S256' || !params.get('code_challenge')) throw new Error('no PKCE S256');
      if (params.get('response_type') !== 'code') throw new Error('response_type must be code');
      if (!users.has(login)) throw new Error(`no user ${login}`);
      const back = new URL(redirectUri);
      const state = params.get('state');
      if (options.deny) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { login, redirectUri, challenge: params.get('code_challenge')!, scope: params.get('scope') ?? '' });
        back.searchParams.set('code', code);
      }
      if (state !== null) back.searchParams.set('state', state);
      return back;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIn;
}
