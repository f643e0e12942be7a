import type { AuthUser } from '../interfaces/auth-user.interface.js';

/**
 * The caller as the {@link Authenticator} admits it. Its class is the mark of a signed-in
 * request (`request.user instanceof AuthenticatedUser`), which other middleware setting
 * `request.user` cannot fake by accident, at no cost on the guard's path.
 */
export class AuthenticatedUser implements AuthUser {
  constructor(
    public userId: string,
    public username: string,
    public sessionId: string,
  ) {}
}

/** Whether the guard admitted this request (or socket data): its caller is an {@link AuthenticatedUser}. */
export function isSignedIn(request: unknown): boolean {
  return typeof request === 'object' && request !== null && (request as { user?: unknown }).user instanceof AuthenticatedUser;
}
