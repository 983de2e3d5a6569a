import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'

/**
 * Maps the bearer token of a request to the user it belongs to, or `null`
 * when the token is not valid. The only source of user ids on the server.
 * To say why a token is refused, throw an `AuthenticationError`: its message
 * goes into the 401 answer. Any other error is the server's (500).
 */
export type Authenticator = (token: string) => Promise<UserId | null> | UserId | null

/** Thrown by an `Authenticator` to refuse a token with a reason the client sees. */
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

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * An authenticator over a fixed `{ token: userId }` map, for development and
 * tests. Tokens are looked up by their SHA-256, so lookups take the same time
 * whatever prefix of a token an attacker guessed.
 */
export function staticTokenAuthenticator(tokens: Record<string, UserId>): Authenticator {
  const users = new Map<string, UserId>()
  for (const [token, userId] of Object.entries(validateTokenMap(tokens, 'staticTokenAuthenticator()'))) {
    users.set(digest(token), userId)
  }
  return (token) => users.get(digest(token)) ?? null
}

/** Reads a JSON file `{ "token": "userId", ... }` and checks its shape. */
export async function loadTokenFile(path: string): Promise<Record<string, UserId>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new SyncServerError('AUTH_FILE_UNREADABLE', `cannot read the token file ${path} (${(cause as Error).message}); pass --auth with the path of a JSON file {"<token>": "<userId>"}.`, { cause })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    throw new SyncServerError('AUTH_FILE_INVALID', `the token file ${path} is not valid JSON (${(cause as Error).message}); it must be an object {"<token>": "<userId>"}.`, { cause })
  }
  return validateTokenMap(parsed, `the token file ${path}`)
}

function validateTokenMap(value: unknown, where: string): Record<string, UserId> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SyncServerError('AUTH_FILE_INVALID', `${where} must be an object {"<token>": "<userId>"}, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.`)
  }
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length === 0) {
    throw new SyncServerError('AUTH_FILE_INVALID', `${where} has no tokens; add at least one "<token>": "<userId>" pair.`)
  }
  for (const [token, userId] of entries) {
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new SyncServerError('AUTH_FILE_INVALID', `${where} has a token shorter than ${MIN_TOKEN_LENGTH} characters (for user ${JSON.stringify(userId)}); use long random tokens, e.g. \`openssl rand -hex 32\`.`)
    }
    if (!((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId)))) {
      throw new SyncServerError('AUTH_FILE_INVALID', `${where} maps a token to ${JSON.stringify(userId)}; user ids must be non-empty strings or numbers.`)
    }
  }
  return value as Record<string, UserId>
}
