/** The authenticated caller, as `@CurrentUser()` returns it and the guard puts on `request.user`. */
export interface AuthUser {
  userId: string;
  username: string;
  sessionId: string;
}
