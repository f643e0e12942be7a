/**
 * An external identity linked to an account: the provider's id in this app (`google`, `corp`)
 * and the subject the provider gives the user (`sub`); the provider's tokens only sealed by the
 * flow ({@link LinkedIdentity.providerTokens}), never a plain token.
 */
export interface LinkedIdentity {
  /** nest-warden's id for the link (22 base64url characters): what `DELETE /auth/oauth/identities/:id` takes. */
  id: string;
  /** The account it belongs to: at most 512 characters. */
  userId: string;
  /** The provider's id in the flow's options: 1 to 64 characters of `[a-z0-9_-]`. */
  provider: string;
  /** The provider's subject for the user (`sub`): 1 to 255 characters, compared exactly. */
  subject: string;
  /** The address the provider gave at the last login, or `null`: at most 320 characters. */
  email: string | null;
  /** Whether the provider said that address is verified. */
  emailVerified: boolean;
  /** When it was linked, epoch milliseconds. */
  createdAt: number;
  /** When it last logged the account in, epoch milliseconds, or `null`. */
  lastUsedAt: number | null;
  /**
   * The provider's access and refresh tokens as the flow sealed them (AES-256-GCM), or `null` when
   * none are kept: at most 16,384 characters, opaque, sealed by the flow; never a plain token. A
   * store keeps it as given and never interprets it.
   */
  providerTokens: string | null;
}

/** What `GET /auth/oauth/identities` shows of a link (no subject, no token). */
export interface IdentityView {
  id: string;
  provider: string;
  email: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * Where the links between accounts and external identities live: in-process by default
 * (`InMemoryIdentityStore`), Redis or SQL for real accounts. An abstract class, so it is both the
 * contract and the DI token. Every implementation must pass `describeIdentityStoreContract` from
 * `nestjs-warden/testing`.
 */
export abstract class IdentityStore {
  /**
   * Links an identity: `false`, and nothing stored, when `(provider, subject)` (or `id`) is linked
   * already, to any account; atomic, so of two concurrent links of one identity exactly one succeeds.
   */
  abstract create(identity: LinkedIdentity): Promise<boolean>;

  /** The link of `(provider, subject)`, or `null`. */
  abstract find(provider: string, subject: string): Promise<LinkedIdentity | null>;

  /** The account's links, oldest first. */
  abstract listByUser(userId: string): Promise<LinkedIdentity[]>;

  /**
   * Records a login by the identity: its address as the provider gave it now, and when; with
   * `providerTokens` (a string or `null`) also replaces the sealed tokens, without it keeps them.
   * One atomic write. `false` when it is not linked.
   */
  abstract recordUse(
    provider: string,
    subject: string,
    use: {
      email: string | null;
      emailVerified: boolean;
      usedAt: number;
      /** The sealed tokens to keep from now on, or `null` for none; left out, the stored ones are kept. */
      providerTokens?: string | null;
    },
  ): Promise<boolean>;

  /**
   * Replaces the identity's sealed tokens (`null`: keeps none), as when a signed-in user links it
   * again; nothing else changes. One atomic write. `false` when it is not linked.
   */
  abstract setProviderTokens(provider: string, subject: string, providerTokens: string | null): Promise<boolean>;

  /** Removes one of the account's links: `false` when the account has none with this id. */
  abstract remove(userId: string, id: string): Promise<boolean>;

  /** Whether the backing storage answers. Reported by health checks. Default `true`. */
  async ping(): Promise<boolean> {
    return true;
  }
}
