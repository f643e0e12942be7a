/** A server-side session: one login on one device. Holds no token material. */
export interface Session {
  /** Random, at least 128 bits, base64url. Carried in access tokens as `sid`. */
  id: string;
  userId: string;
  username: string;
  createdAt: Date;
  /** Last time the session was used. */
  lastSeenAt: Date;
  /** The session ends at this instant whatever happens. */
  expiresAt: Date;
  userAgent?: string;
  ip?: string;
}
