import { Injectable } from '@nestjs/common';
import { PasskeyStore, type Passkey, type PasskeyUse } from './passkey-store.js';

/**
 * Passkeys in a `Map` in this process: for development, tests and single-instance apps whose
 * accounts live in memory too; a restart forgets them. Use `RedisPasskeyStore` or
 * `TypeOrmPasskeyStore` for real accounts.
 */
@Injectable()
export class InMemoryPasskeyStore extends PasskeyStore {
  private readonly byCredential = new Map<string, Passkey>();
  private readonly byUser = new Map<string, Passkey[]>();
  private readonly ids = new Set<string>();

  async create(passkey: Passkey): Promise<boolean> {
    if (this.byCredential.has(passkey.credentialId) || this.ids.has(passkey.id)) return false;
    const copy = clone(passkey);
    this.byCredential.set(copy.credentialId, copy);
    this.ids.add(copy.id);
    const list = this.byUser.get(copy.userId) ?? [];
    list.push(copy);
    this.byUser.set(copy.userId, list);
    return true;
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | null> {
    const found = this.byCredential.get(credentialId);
    return found ? clone(found) : null;
  }

  async listByUser(userId: string): Promise<Passkey[]> {
    return (this.byUser.get(userId) ?? []).map(clone).sort((a, b) => a.createdAt - b.createdAt);
  }

  async recordUse(credentialId: string, expectedCounter: number, use: PasskeyUse): Promise<boolean> {
    const found = this.byCredential.get(credentialId);
    if (!found || found.counter !== expectedCounter) return false;
    found.counter = use.counter;
    found.backedUp = use.backedUp;
    found.lastUsedAt = use.usedAt;
    return true;
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey | null> {
    const found = (this.byUser.get(userId) ?? []).find((one) => one.id === id);
    if (!found) return null;
    found.name = name;
    return clone(found);
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const list = this.byUser.get(userId) ?? [];
    const index = list.findIndex((one) => one.id === id);
    if (index < 0) return false;
    const [removed] = list.splice(index, 1);
    this.byCredential.delete(removed!.credentialId);
    this.ids.delete(removed!.id);
    if (list.length === 0) this.byUser.delete(userId);
    return true;
  }
}

// Copies in and out: a caller changing what it got must not change the store.
function clone(passkey: Passkey): Passkey {
  return { ...passkey, transports: [...passkey.transports] };
}
