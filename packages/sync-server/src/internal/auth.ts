import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { UserId } from '@storex-sync/shared-sync-log-core'
import { SyncServerError } from '../errors'
import { MIN_TOKEN_LENGTH } from './auth-error'
export { AuthenticationError, MIN_TOKEN_LENGTH } from './auth-error'

/**
 * Maps the bearer token of a request to the user it belongs to, or `null`
 * when the token is not valid. The only source of user ids on the server.
 */
export type Authenticator = (token: string) => Promise<UserId | null> | UserId | null

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
