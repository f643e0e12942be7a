import { describeMfaStoreContract } from '../../testing/mfa-store.contract.js';
import { InMemoryMfaStore } from './in-memory-mfa.store.js';

describeMfaStoreContract('InMemoryMfaStore', ({ clock }) => new InMemoryMfaStore({ clock: clock.now }));
