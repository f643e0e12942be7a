import { Injectable } from '@nestjs/common';
import { IdentityStore, type LinkedIdentity } from './identity-store.js';

/** What a login changes on a link: the address the provider gave, when, and maybe the sealed tokens. */
type IdentityUse = Parameters<IdentityStore['recordUse']>[2];

/**
 * Identity links in a `Map` in this process: for development, tests and single-instance apps whose
 * accounts live in memory too; a restart forgets them. Use `RedisIdentityStore` or
 * `TypeOrmIdentityStore` for real accounts.
 */
@Injectable()
export class InMemoryIdentityStore extends IdentityStore {
  private readonly byIdentity = new Map<string, LinkedIdentity>();
  private readonly byUser = new Map<string, LinkedIdentity[]>();
  private readonly ids = new Set<string>();

  async create(identity: LinkedIdentity): Promise<boolean> {
    const key = keyOf(identity.provider, identity.subject);
    if (this.byIdentity.has(key) || this.ids.has(identity.id)) return false;
    // A link made without the field keeps no tokens.
    const copy = { ...identity, providerTokens: identity.providerTokens ?? null };
    this.byIdentity.set(key, copy);
    this.ids.add(copy.id);
    const list = this.byUser.get(copy.userId) ?? [];
    list.push(copy);
    this.byUser.set(copy.userId, list);
    return true;
  }

  async find(provider: string, subject: string): Promise<LinkedIdentity | null> {
    const found = this.byIdentity.get(keyOf(provider, subject));
    return found ? { ...found } : null;
  }

  async listByUser(userId: string): Promise<LinkedIdentity[]> {
    return (this.byUser.get(userId) ?? []).map((one) => ({ ...one })).sort((a, b) => a.createdAt - b.createdAt);
  }

  async recordUse(provider: string, subject: string, use: IdentityUse): Promise<boolean> {
    const found = this.byIdentity.get(keyOf(provider, subject));
    if (!found) return false;
    found.email = use.email;
    found.emailVerified = use.emailVerified;
    found.lastUsedAt = use.usedAt;
    // Left out: the tokens stay as they are.
    if (use.providerTokens !== undefined) found.providerTokens = use.providerTokens;
    return true;
  }

  async setProviderTokens(provider: string, subject: string, providerTokens: string | null): Promise<boolean> {
    const found = this.byIdentity.get(keyOf(provider, subject));
    if (!found) return false;
    found.providerTokens = providerTokens;
    return true;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const list = this.byUser.get(userId) ?? [];
    const index = list.findIndex((one) => one.id === id);
    if (index < 0) return false;
    const [removed] = list.splice(index, 1);
    this.byIdentity.delete(keyOf(removed!.provider, removed!.subject));
    this.ids.delete(removed!.id);
    if (list.length === 0) this.byUser.delete(userId);
    return true;
  }
}

// One key for the pair, unambiguous whatever either holds (JSON quotes and escapes both).
function keyOf(provider: string, subject: string): string {
  return JSON.stringify([provider, subject]);
}
