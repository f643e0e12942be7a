import { systemClock, type Clock } from '../../clock.js';
import { checkMfaValues, MfaStore, type MfaState, type PendingTotp, type TotpFactor } from './mfa-store.js';

/** Options of {@link InMemoryMfaStore}. */
export interface InMemoryMfaStoreOptions {
  /** Time source, for tests. Default `Date.now`. */
  clock?: Clock;
}

interface Entry {
  totp: { secret: string; enabledAt: number } | null;
  pending: { secret: string; expiresAt: number } | null;
  codes: Set<string>;
  /** Used markers and when each expires. */
  markers: Map<string, number>;
}

/**
 * The default {@link MfaStore}: a `Map` in this process, lost on restart and not shared between
 * instances (use the Redis or SQL store as soon as you run more than one, or keep users anywhere
 * durable). Nothing awaits inside an operation, so each is atomic on Node's single thread.
 */
export class InMemoryMfaStore extends MfaStore {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;

  constructor(options: InMemoryMfaStoreOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
  }

  async find(userId: string): Promise<MfaState> {
    const entry = this.entries.get(userId);
    const pending = entry?.pending && entry.pending.expiresAt > this.clock() ? entry.pending : null;
    return {
      totp: entry?.totp ? ({ secret: entry.totp.secret, enabledAt: new Date(entry.totp.enabledAt) } satisfies TotpFactor) : null,
      pendingTotp: pending ? ({ secret: pending.secret, expiresAt: new Date(pending.expiresAt) } satisfies PendingTotp) : null,
      recoveryCodesLeft: entry?.totp ? entry.codes.size : 0,
    };
  }

  async savePendingTotp(userId: string, pending: PendingTotp): Promise<void> {
    checkMfaValues('InMemoryMfaStore', { secret: pending.secret });
    this.entry(userId).pending = { secret: pending.secret, expiresAt: pending.expiresAt.getTime() };
  }

  async enableTotp(userId: string, pendingSecret: string, recoveryCodeDigests: readonly string[], enabledAt: Date): Promise<boolean> {
    checkMfaValues('InMemoryMfaStore', { digests: recoveryCodeDigests });
    const entry = this.entries.get(userId);
    if (!entry || entry.totp || !entry.pending || entry.pending.secret !== pendingSecret) return false;
    if (entry.pending.expiresAt <= enabledAt.getTime()) return false;
    entry.totp = { secret: pendingSecret, enabledAt: enabledAt.getTime() };
    entry.pending = null;
    entry.codes = new Set(recoveryCodeDigests);
    return true;
  }

  async disableTotp(userId: string): Promise<boolean> {
    const entry = this.entries.get(userId);
    if (!entry) return false;
    const wasOn = entry.totp !== null;
    entry.totp = null;
    entry.pending = null;
    entry.codes = new Set();
    if (entry.markers.size === 0) this.entries.delete(userId);
    return wasOn;
  }

  async replaceRecoveryCodes(userId: string, digests: readonly string[]): Promise<boolean> {
    checkMfaValues('InMemoryMfaStore', { digests });
    const entry = this.entries.get(userId);
    if (!entry?.totp) return false;
    entry.codes = new Set(digests);
    return true;
  }

  async useRecoveryCode(userId: string, digest: string): Promise<boolean> {
    const entry = this.entries.get(userId);
    return entry?.totp ? entry.codes.delete(digest) : false;
  }

  async resealTotp(userId: string, current: string, next: string): Promise<boolean> {
    checkMfaValues('InMemoryMfaStore', { secret: next });
    const entry = this.entries.get(userId);
    if (!entry?.totp || entry.totp.secret !== current) return false;
    entry.totp.secret = next;
    return true;
  }

  async markUsed(userId: string, marker: string, expiresAt: Date): Promise<boolean> {
    checkMfaValues('InMemoryMfaStore', { marker });
    const entry = this.entry(userId);
    const now = this.clock();
    // Expired marks go here, so an account holds only the few of the last minutes.
    for (const [key, until] of entry.markers) if (until <= now) entry.markers.delete(key);
    if (entry.markers.has(marker)) return false;
    entry.markers.set(marker, expiresAt.getTime());
    return true;
  }

  private entry(userId: string): Entry {
    let entry = this.entries.get(userId);
    if (!entry) {
      entry = { totp: null, pending: null, codes: new Set(), markers: new Map() };
      this.entries.set(userId, entry);
    }
    return entry;
  }
}
