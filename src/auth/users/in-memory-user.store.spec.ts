import { describeUserStoreContract } from '../testing/index.js';
import { InMemoryUserStore } from './in-memory-user.store.js';

describeUserStoreContract('InMemoryUserStore', () => new InMemoryUserStore());
