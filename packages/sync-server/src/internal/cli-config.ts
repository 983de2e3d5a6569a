import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { SyncServerError } from '../errors'
import { loadTokenFile, staticTokenAuthenticator, type Authenticator } from './auth'
import type { CreateSyncServerOptions } from './app'
import { jwtAuthenticator } from './jwt'
import type { OpenedSharedSyncLog } from './open-log'
import { parseDuration } from './cli-compact'
import { DEFAULT_COMPACTION_INTERVAL_MS, DEFAULT_RETENTION_MS } from './replica-setup'

/** --help: the JWT options (after --auth). */
export const JWT_HELP = `  --jwt-secret-file <f> or verify JWTs signed with this HS256 secret (32+ bytes)
                        (or the environment variable STOREX_SYNC_JWT_SECRET)
  --jwks-url <url>      or verify JWTs with the identity provider's keys (rotation followed)
  --jwt-issuer <iss>    required with JWTs: the accepted "iss"
  --jwt-audience <aud>  required with JWTs: the accepted "aud"
  --jwt-user-claim <c>  the claim holding the user id (default sub)
`

/** --help: limits and operations (after --max-batch-size). */
export const LIMITS_HELP = `  --request-timeout <ms> time to receive a whole request (default 10000); then 408
  --rate-limit-address <n>  requests per minute per client address (default 1200; 0 = off)
  --rate-limit-user <n>     requests per minute per user (default 600; 0 = off)
  --max-devices-per-user <n>    quota: 429 beyond it (default: none)
  --max-entries-per-user <n>    quota: 413 beyond it (default: none)
  --max-bytes-per-user <size>   quota of entry data, PostgreSQL only: 413 beyond it
  --cors-origin <origin>  allow a browser app on this origin (repeatable), e.g.
                          https://app.example.com (default: none, same origin only)
  --metrics-token-file <f>  GET /metrics (Prometheus) needs this bearer token
                        (or STOREX_SYNC_METRICS_TOKEN); or block /metrics at the proxy
  --disable-metrics     no /metrics
  --replica             keep a replica of every user's data (the cloud as a device):
                        new devices start from POST /v1/snapshot, writes are integrated
                        as they are accepted, the log is compacted on a schedule
  --replica-database <db>  where the replica lives (default: --database)
  --retention <duration>   devices silent longer than this, with entries to read,
                        are retired at compaction and bootstrap again (default 30d)
  --compaction-interval <duration>  compact every user's log this often
                        (default 1h; 0 = never: run storex-sync-server compact)
`

/** --help: health, and the two set-ups. */
export const SET_UPS_HELP = `Without credentials: GET /healthz (the process answers), GET /readyz (the
database answers too; 503 otherwise), GET /metrics (see above).

Production set-up: PostgreSQL, JWTs from your identity provider, TLS at a
reverse proxy (nginx, Caddy, a cloud load balancer) that forwards to
127.0.0.1:8080 and does not buffer /v1/events (live updates, Server-Sent Events):
  DATABASE_URL=postgres://sync:***@db:5432/sync storex-sync-server \\
    --jwks-url https://auth.example.com/.well-known/jwks.json \\
    --jwt-issuer https://auth.example.com/ --jwt-audience storex-sync \\
    --trust-proxy loopback --cors-origin https://app.example.com \\
    --max-devices-per-user 20 --max-entries-per-user 1000000 --max-bytes-per-user 1gb \\
    --metrics-token-file /run/secrets/metrics-token
  Probe /readyz, scrape /metrics, run as many processes as you like on one database.

Development set-up: SQLite file, a token file, everything on this machine:
  echo "{\\"$(openssl rand -hex 32)\\": \\"alice\\"}" > tokens.json
  storex-sync-server --auth tokens.json --database ./dev.sqlite --log

`

/** The command's options beyond port, host, database, token file, body limit, batch size and --log. */
export const EXTRA_OPTIONS = {
  'jwt-secret-file': { type: 'string' },
  'jwks-url': { type: 'string' },
  'jwt-issuer': { type: 'string' },
  'jwt-audience': { type: 'string' },
  'jwt-user-claim': { type: 'string' },
  'trust-proxy': { type: 'string' },
  'request-timeout': { type: 'string' },
  'rate-limit-address': { type: 'string' },
  'rate-limit-user': { type: 'string' },
  'max-devices-per-user': { type: 'string' },
  'max-entries-per-user': { type: 'string' },
  'max-bytes-per-user': { type: 'string' },
  'cors-origin': { type: 'string', multiple: true },
  'metrics-token-file': { type: 'string' },
  'disable-metrics': { type: 'boolean' },
  replica: { type: 'boolean' },
  'replica-database': { type: 'string' },
  retention: { type: 'string' },
  'compaction-interval': { type: 'string' },
} as const

export interface ExtraCliOptions {
  jwt: { secretFile?: string; secret?: string; jwksUrl?: string; issuer: string; audience: string; userClaim: string } | null
  trustProxy: boolean | string | number
  requestTimeoutMs: number
  rateLimit: { perAddressPerMinute: number; perUserPerMinute: number }
  quotas: { maxDevicesPerUser?: number; maxEntriesPerUser?: number; maxBytesPerUser?: number }
  corsOrigins: string[]
  metrics: { enabled: boolean; tokenFile?: string; token?: string }
  /** --replica and its settings, or null. */
  replica: { database?: string; retentionMs: number; compactionIntervalMs: number } | null
}

type Values = Record<string, string | boolean | string[] | undefined>
type Fail = (message: string) => Error

/**
 * Reads the extra options (and `STOREX_SYNC_JWT_SECRET`, `STOREX_SYNC_METRICS_TOKEN`),
 * and checks that exactly one way of authenticating is configured.
 */
export function parseExtraOptions(
  values: Values,
  fail: Fail,
  parseInteger: (name: string, text: string, min: number, max: number) => number,
  parseSize: (text: string, name?: string) => number,
): ExtraCliOptions {
  const env = process.env
  const str = (name: string) => values[name] as string | undefined
  const jwtSecret = str('jwt-secret-file') === undefined ? env.STOREX_SYNC_JWT_SECRET || undefined : undefined
  const wantsJwt = str('jwt-secret-file') !== undefined || jwtSecret !== undefined || str('jwks-url') !== undefined
  if (!values.auth && !wantsJwt) {
    throw fail('--auth is required unless JWTs are configured: every request must carry a token. For development, create a JSON file {"<token of 32+ characters>": "<user id>"} and pass --auth <file>; in production pass --jwks-url or --jwt-secret-file with --jwt-issuer and --jwt-audience')
  }
  if (values.auth && wantsJwt) throw fail('give either --auth (a token file) or JWT options (--jwt-secret-file/--jwks-url), not both')
  if (str('jwt-secret-file') !== undefined && str('jwks-url') !== undefined) throw fail('give either --jwt-secret-file or --jwks-url, not both')
  if (wantsJwt && (!str('jwt-issuer') || !str('jwt-audience'))) {
    throw fail('JWTs need --jwt-issuer and --jwt-audience: the "iss" and "aud" your identity provider puts in the tokens meant for this server')
  }
  const replicaFlags = ['replica-database', 'retention', 'compaction-interval'].filter((name) => str(name) !== undefined)
  if (!values.replica && replicaFlags.length) throw fail(`--${replicaFlags[0]} needs --replica`)
  const trust = str('trust-proxy')
  const optionalInteger = (name: string) => (str(name) === undefined ? undefined : parseInteger(name, str(name)!, 1, Number.MAX_SAFE_INTEGER))
  return {
    jwt: wantsJwt
      ? { secretFile: str('jwt-secret-file'), secret: jwtSecret, jwksUrl: str('jwks-url'), issuer: str('jwt-issuer')!, audience: str('jwt-audience')!, userClaim: str('jwt-user-claim') ?? 'sub' }
      : null,
    trustProxy: trust === undefined ? false : trust === 'true' ? true : /^\d+$/.test(trust) ? Number(trust) : trust,
    requestTimeoutMs: str('request-timeout') === undefined ? 10_000 : parseInteger('request-timeout', str('request-timeout')!, 100, 600_000),
    rateLimit: {
      perAddressPerMinute: str('rate-limit-address') === undefined ? 1200 : parseInteger('rate-limit-address', str('rate-limit-address')!, 0, 10_000_000),
      perUserPerMinute: str('rate-limit-user') === undefined ? 600 : parseInteger('rate-limit-user', str('rate-limit-user')!, 0, 10_000_000),
    },
    quotas: {
      maxDevicesPerUser: optionalInteger('max-devices-per-user'),
      maxEntriesPerUser: optionalInteger('max-entries-per-user'),
      maxBytesPerUser: str('max-bytes-per-user') === undefined ? undefined : parseSize(str('max-bytes-per-user')!, 'max-bytes-per-user'),
    },
    corsOrigins: ((values['cors-origin'] as string[] | undefined) ?? []).map((origin) => {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw fail(`--cors-origin: "${origin}" is not an origin; give scheme and host, e.g. https://app.example.com`)
      return origin
    }),
    metrics: { enabled: !values['disable-metrics'], tokenFile: str('metrics-token-file'), token: str('metrics-token-file') === undefined ? env.STOREX_SYNC_METRICS_TOKEN || undefined : undefined },
    replica: values.replica
      ? {
          database: str('replica-database'),
          retentionMs: str('retention') === undefined ? DEFAULT_RETENTION_MS : parseDuration(str('retention')!, 'retention', fail),
          compactionIntervalMs: str('compaction-interval') === undefined ? DEFAULT_COMPACTION_INTERVAL_MS : parseDuration(str('compaction-interval')!, 'compaction-interval', fail),
        }
      : null,
  }
}

/** The authenticator the options ask for, and how the status line names it. */
export async function authenticatorFromCli(options: ExtraCliOptions & { auth: string | null }): Promise<{ authenticate: Authenticator; description: string }> {
  if (options.auth !== null) {
    const tokens = await loadTokenFile(options.auth)
    const tokenCount = Object.keys(tokens).length
    return { authenticate: staticTokenAuthenticator(tokens), description: `${tokenCount} token${tokenCount === 1 ? '' : 's'} from ${basename(options.auth)}` }
  }
  const jwt = options.jwt!
  const secret = jwt.secretFile !== undefined ? await readSecretFile(jwt.secretFile, 'JWT secret') : jwt.secret
  return {
    authenticate: jwtAuthenticator({ secret, jwksUrl: jwt.jwksUrl, issuer: jwt.issuer, audience: jwt.audience, userIdClaim: jwt.userClaim }),
    description: `JWT (${jwt.jwksUrl ? `keys from ${jwt.jwksUrl}` : 'HS256 secret'}, iss ${jwt.issuer}, aud ${jwt.audience}, user from "${jwt.userClaim}")`,
  }
}

/** createSyncServer's options for the operations part of the command line. */
export async function serverOptionsFromCli(options: ExtraCliOptions, opened: OpenedSharedSyncLog): Promise<Partial<CreateSyncServerOptions>> {
  const metricsToken = options.metrics.tokenFile !== undefined ? await readSecretFile(options.metrics.tokenFile, 'metrics token') : options.metrics.token
  return {
    trustProxy: options.trustProxy,
    requestTimeoutMs: options.requestTimeoutMs,
    rateLimit: options.rateLimit,
    metrics: options.metrics.enabled ? { token: metricsToken } : false,
    cors: options.corsOrigins.length ? { origins: options.corsOrigins } : undefined,
    quotas: { ...options.quotas, usage: (userId) => opened.usage(userId) },
    ping: () => opened.ping(),
    ...(options.replica && opened.replica
      ? { replica: { instance: opened.replica.replica, retentionMs: options.replica.retentionMs, compactionIntervalMs: options.replica.compactionIntervalMs } }
      : {}),
  }
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim()
    if (!text) throw new Error('the file is empty')
    return text
  } catch (cause) {
    throw new SyncServerError('SECRET_FILE_UNREADABLE', `cannot read the ${what} from ${path} (${(cause as Error).message}); put it in a file only this process may read.`, { cause })
  }
}
