// WebSocket support: import from 'nest-warden/websockets' (needs @nestjs/websockets).
export { WsAuthGuard } from './ws-auth.guard.js';
export type { WsAuthErrorBody, WsClientLike } from './ws-auth.guard.js';
