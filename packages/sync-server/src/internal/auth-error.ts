/**
 * Thrown by an `Authenticator` to refuse a token with a reason the client
 * sees: its message goes into the 401 answer. (Returning `null` refuses
 * without a reason; any other error is the server's, a 500.)
 */
export class AuthenticationError extends Error {
  constructor(
    /** `invalid_token` or `token_expired` (RFC 6750 error, plus `token_expired` for clients to refresh). */
    readonly reason: 'invalid_token' | 'token_expired',
    message: string,
  ) {
    super(message)
    this.name = 'AuthenticationError'
  }
}

/** Shortest token the token file accepts: long random tokens only, e.g. `openssl rand -hex 32`. */
export const MIN_TOKEN_LENGTH = 32
