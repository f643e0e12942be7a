/** What nest-warden records about the client making a request. */
export interface RequestMeta {
  /** The client address as the HTTP adapter reports it (`request.ip`). */
  ip?: string;
  /** The `User-Agent` header, truncated to 256 characters. */
  userAgent?: string;
}
