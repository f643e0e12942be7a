// WebSocket support: import from 'nestjs-warden/websockets' (needs @nestjs/websockets).
export { WsAuthGuard } from './ws-auth.guard.js';
export type { WsAuthErrorBody } from './ws-auth.guard.js';
export { handshakeToken } from './handshake-token.js';
export type { HandshakeOptions, HandshakeRefusal, WsClientLike } from './handshake-token.js';
