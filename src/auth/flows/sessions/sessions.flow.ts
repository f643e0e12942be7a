import type { AuthFlow } from '../auth-flow.js';
import { SessionsController } from './sessions.controller.js';

/**
 * Session management as a flow, built in: the caller lists and ends their own sessions. It
 * brings only a controller; its logic is the core's `SessionService`.
 */
export const sessionsFlow: AuthFlow = { name: 'sessions', controllers: [SessionsController] };
