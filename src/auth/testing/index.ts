// Test kits for users of nest-warden: import from 'nestjs-warden/testing' in jest specs.
export { FakeClock } from './fake-clock.js';
export { describeSessionStoreContract } from './session-store.contract.js';
export type { SessionStoreContractContext, SessionStoreContractOptions } from './session-store.contract.js';
export { describeThrottleStoreContract } from './throttle-store.contract.js';
export { describeUserStoreContract } from './user-store.contract.js';
export type { UserStoreContractOptions } from './user-store.contract.js';
export { describeOneTimeTokenStoreContract } from './one-time-token-store.contract.js';
export type { OneTimeTokenStoreContractOptions } from './one-time-token-store.contract.js';
export { describeMfaStoreContract } from './mfa-store.contract.js';
export type { MfaStoreContractOptions } from './mfa-store.contract.js';
export { describePasskeyStoreContract } from './passkey-store.contract.js';
export type { PasskeyStoreContractOptions } from './passkey-store.contract.js';
export { describeIdentityStoreContract } from './identity-store.contract.js';
export type { IdentityStoreContractOptions } from './identity-store.contract.js';
