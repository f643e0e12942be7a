import { describePasskeyStoreContract } from '../../testing/passkey-store.contract.js';
import { InMemoryPasskeyStore } from './in-memory-passkey.store.js';

describePasskeyStoreContract('InMemoryPasskeyStore', () => new InMemoryPasskeyStore());
