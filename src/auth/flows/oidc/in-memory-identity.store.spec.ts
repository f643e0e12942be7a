import { describeIdentityStoreContract } from '../../testing/identity-store.contract.js';
import { InMemoryIdentityStore } from './in-memory-identity.store.js';

describeIdentityStoreContract('InMemoryIdentityStore', () => new InMemoryIdentityStore());
