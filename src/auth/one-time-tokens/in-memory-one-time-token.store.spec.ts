import { describeOneTimeTokenStoreContract } from '../testing/one-time-token-store.contract.js';
import { InMemoryOneTimeTokenStore } from './in-memory-one-time-token.store.js';

const stores: InMemoryOneTimeTokenStore[] = [];
describeOneTimeTokenStoreContract(
  'InMemoryOneTimeTokenStore',
  ({ clock }) => {
    const store = new InMemoryOneTimeTokenStore({ clock: clock.now });
    stores.push(store);
    return store;
  },
  { teardown: () => stores.splice(0).forEach((store) => store.onModuleDestroy()) },
);
