import type { UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { AuthenticationError, type Authenticator } from './auth'

export interface JwtAuthenticatorOptions {
  /** HS256/384/512 shared secret (at least 32 bytes). Give this or `jwksUrl`. */
  secret?: string | Uint8Array
  /**
   * The identity provider's JSON Web Key Set, e.g. `https://auth.example.com/.well-known/jwks.json`.
   * Keys are cached and fetched again when a token names a key id the cache does not hold
   * (key rotation), at most once per `jwksCooldownMs`.
   */
  jwksUrl?: string
  /** Required `iss` claim (one or several accepted values). */
  issuer: string | string[]
  /** Required `aud` claim (one or several accepted values). */
  audience: string | string[]
  /** The claim holding the user id (default `sub`); a string or a finite number. */
  userIdClaim?: string
  /** Accepted algorithms (default: HS256 for a secret; RS256, PS256, ES256, EdDSA for a JWKS). */
  algorithms?: string[]
  /** Leeway for `exp`/`nbf`, in seconds (default 5). */
  clockToleranceSec?: number
  /** Tokens without `exp` are refused unless this is false (default true). */
  requireExpiry?: boolean
  /** JWKS: minimum time between two fetches of the key set, in ms (default 30000). */
  jwksCooldownMs?: number
  /** JWKS: keys are fetched again after this long even without an unknown key id, in ms (default 600000). */
  jwksCacheMaxAgeMs?: number
}

/**
 * An authenticator that verifies JSON Web Tokens with `jose`: signature (a
 * shared HS256 secret, or the keys of a JWKS URL, with rotation), issuer,
 * audience, expiry and not-before; the user id comes from one claim. A token
 * that fails says why (`expired`, `wrong audience`, ...) in the 401.
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  if (!options || (options.secret === undefined) === (options.jwksUrl === undefined)) {
    throw new SyncServerError('INVALID_OPTION', 'jwtAuthenticator needs exactly one of `secret` (an HS256 secret) or `jwksUrl` (the identity provider\'s JWKS URL).')
  }
  if (!options.issuer || !options.audience) {
    throw new SyncServerError('INVALID_OPTION', 'jwtAuthenticator needs `issuer` and `audience`: the `iss` and `aud` your identity provider puts in its tokens; tokens for other services must not be accepted.')
  }
  const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret
  if (secret && secret.byteLength < 32) {
    throw new SyncServerError('INVALID_OPTION', `the JWT secret has ${secret.byteLength} bytes; use at least 32 random bytes (e.g. \`openssl rand -hex 32\`).`)
  }
  let jwksUrl: URL | undefined
  if (options.jwksUrl !== undefined) {
    try {
      jwksUrl = new URL(options.jwksUrl)
    } catch (cause) {
      throw new SyncServerError('INVALID_OPTION', `jwksUrl "${options.jwksUrl}" is not a URL; give the https:// address of your identity provider's JWKS.`, { cause })
    }
  }
  const claim = options.userIdClaim ?? 'sub'
  const algorithms = options.algorithms ?? (secret ? ['HS256'] : ['RS256', 'PS256', 'ES256', 'EdDSA'])
  // jose is ESM only: loaded on first use, so this package's CommonJS build works too.
  const josePromise = import('jose')
  let keySource: Promise<Uint8Array | ReturnType<typeof import('jose').createRemoteJWKSet>> | undefined

  return async (token: string): Promise<UserId> => {
    const jose = await josePromise
    keySource ??= Promise.resolve(
      secret ?? jose.createRemoteJWKSet(jwksUrl!, { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000 }),
    )
    const key = await keySource
    let payload: Record<string, unknown>
    try {
      const verified = await jose.jwtVerify(token, key as any, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSec ?? 5,
        requiredClaims: options.requireExpiry === false ? [] : ['exp'],
      })
      payload = verified.payload
    } catch (error) {
      throw describeJoseError(error, jose)
    }
    const userId = payload[claim]
    if (!((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId)))) {
      throw new AuthenticationError('invalid_token', `the token has no usable "${claim}" claim (the user id); ask the identity provider to include it`)
    }
    return userId
  }
}

function describeJoseError(error: unknown, jose: typeof import('jose')): Error {
  const { errors } = jose
  if (error instanceof errors.JWTExpired) return new AuthenticationError('token_expired', 'the token has expired; sign in again or refresh the token')
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim
    if (claim === 'aud') return new AuthenticationError('invalid_token', 'the token is for another audience (aud); request a token for this sync server')
    if (claim === 'iss') return new AuthenticationError('invalid_token', 'the token comes from another issuer (iss)')
    if (claim === 'nbf') return new AuthenticationError('invalid_token', 'the token is not valid yet (nbf); check the clocks')
    if (claim === 'exp') return new AuthenticationError('invalid_token', 'the token has no expiry (exp); tokens must expire')
    return new AuthenticationError('invalid_token', `the token's "${claim}" claim is not acceptable`)
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new AuthenticationError('invalid_token', 'the token\'s signature does not verify')
  if (error instanceof errors.JOSEAlgNotAllowed) return new AuthenticationError('invalid_token', 'the token is signed with an algorithm this server does not accept')
  if (error instanceof errors.JWKSNoMatchingKey) return new AuthenticationError('invalid_token', 'no key of the identity provider matches the token\'s key id')
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid || error instanceof errors.JOSENotSupported) {
    return new AuthenticationError('invalid_token', 'the token is not a valid JWT')
  }
  // JWKS fetch failures and the like: the server's problem, not the token's.
  return error instanceof Error ? error : new Error(String(error))
}
