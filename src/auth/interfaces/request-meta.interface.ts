/** What nest-warden records about the client making a request. */
export interface RequestMeta {
  /** The client address: the TCP peer, or from `X-Forwarded-For` as the `trustProxy` option allows. */
  ip?: string;
  /** The `User-Agent` header, truncated to 256 characters. */
  userAgent?: string;
}
