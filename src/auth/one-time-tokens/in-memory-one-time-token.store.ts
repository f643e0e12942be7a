import type { OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { OneTimeTokenStore, type OneTimeToken } from './one-time-token.store.js';

/** Options of {@link InMemoryOneTimeTokenStore}. */
export interface InMemoryOneTimeTokenStoreOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
  /** Seconds between sweeps of expired tokens. Default 60. */
  sweepIntervalSeconds?: number;
}

/**
 * The default {@link OneTimeTokenStore}: tokens in a `Map`, lost on restart (their links stop
 * working), swept once expired. Use the Redis or SQL store with several instances.
 */
export class InMemoryOneTimeTokenStore extends OneTimeTokenStore implements OnModuleDestroy {
  private readonly byHash = new Map<string, OneTimeToken>();
  /** Hashes by `userId\npurpose`. */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly clock: Clock;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: InMemoryOneTimeTokenStoreOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => this.sweep(), (options.sweepIntervalSeconds ?? 60) * 1000);
    this.sweeper.unref();
  }

  async save(token: OneTimeToken, options: { replace: boolean }): Promise<void> {
    const owner = ownerKey(token.userId, token.purpose);
    if (options.replace) this.dropOwner(owner);
    const existing = this.byHash.get(token.hash);
    if (existing) this.drop(existing);
    this.byHash.set(token.hash, { ...token });
    let hashes = this.byOwner.get(owner);
    if (!hashes) this.byOwner.set(owner, (hashes = new Set()));
    hashes.add(token.hash);
  }

  async take(hash: string, purposes: readonly string[]): Promise<OneTimeToken | null> {
    const token = this.byHash.get(hash);
    if (!token || !purposes.includes(token.purpose)) return null;
    this.drop(token);
    return token.expiresAt > this.clock() ? { ...token } : null;
  }

  async revokeAll(userId: string, purpose: string): Promise<void> {
    this.dropOwner(ownerKey(userId, purpose));
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private dropOwner(owner: string): void {
    for (const hash of this.byOwner.get(owner) ?? []) this.byHash.delete(hash);
    this.byOwner.delete(owner);
  }

  private drop(token: OneTimeToken): void {
    this.byHash.delete(token.hash);
    const owner = ownerKey(token.userId, token.purpose);
    const hashes = this.byOwner.get(owner);
    hashes?.delete(token.hash);
    if (hashes?.size === 0) this.byOwner.delete(owner);
  }

  private sweep(): void {
    const now = this.clock();
    for (const token of this.byHash.values()) if (token.expiresAt <= now) this.drop(token);
  }
}

function ownerKey(userId: string, purpose: string): string {
  return `${userId}\n${purpose}`;
}
