import { parseArgs } from 'node:util'
import { basename } from 'node:path'
import { isSyncError } from '@storex-sync/errors'
import { createSyncServer, DEFAULT_BODY_LIMIT, DEFAULT_MAX_BATCH_SIZE } from './app'
import { readFile } from 'node:fs/promises'
import { loadTokenFile, staticTokenAuthenticator, type Authenticator } from './auth'
import { jwtAuthenticator } from './jwt'
import { openSharedSyncLog } from './open-log'
import { SyncServerError } from '../errors'

export const HELP = `storex-sync-server: the storex-sync shared log over HTTP

Usage:
  storex-sync-server --auth tokens.json [options]                       (development)
  storex-sync-server --jwt-secret-file f --jwt-issuer i --jwt-audience a [options]
  storex-sync-server --jwks-url u --jwt-issuer i --jwt-audience a [options]   (production)

Storage and network:
  --port <n>            port to listen on (default 8080; 0 picks a free one)
  --host <address>      address to listen on (default 127.0.0.1; 0.0.0.0 for all interfaces)
  --database <db>       where the log is stored (default ./storex-sync.sqlite):
                          a file path       embedded SQLite (one server process per file)
                          :memory:          SQLite in memory, lost on exit
                          postgres://user:password@host:5432/database
                                            PostgreSQL (tables are created if missing);
                                            several server processes may share it
                        (or the environment variable DATABASE_URL)
  --trust-proxy <v>     behind a reverse proxy: trust its X-Forwarded-For, so rate
                        limits see client addresses: "loopback", an address/CIDR, or
                        the number of proxies (default: off)

Authentication (one of):
  --auth <file>         JSON file mapping bearer tokens to user ids, for development:
                          {"<token of 32+ characters>": "alice", ...}
  --jwt-secret-file <f> verify JWTs signed with this HS256 secret (32+ bytes)
                        (or the environment variable STOREX_SYNC_JWT_SECRET)
  --jwks-url <url>      verify JWTs with the identity provider's keys (rotation followed)
  --jwt-issuer <iss>    required with JWTs: the accepted "iss"
  --jwt-audience <aud>  required with JWTs: the accepted "aud"
  --jwt-user-claim <c>  the claim holding the user id (default sub)

Limits:
  --body-limit <size>   largest request body, e.g. 1048576, 512kb, 4mb (default 4mb)
  --max-batch-size <n>  most entries per read (default ${DEFAULT_MAX_BATCH_SIZE})
  --request-timeout <ms> time to receive a whole request (default 10000); then 408
  --rate-limit-address <n>  requests per minute per client address (default 1200; 0 = off)
  --rate-limit-user <n>     requests per minute per user (default 600; 0 = off)
  --max-devices-per-user <n>    quota: 429 beyond it (default: none)
  --max-entries-per-user <n>    quota: 413 beyond it (default: none)
  --max-bytes-per-user <size>   quota of entry data, PostgreSQL only: 413 beyond it
  --cors-origin <origin>  allow a browser app on this origin (repeatable), e.g.
                          https://app.example.com (default: none, same origin only)

Operations:
  GET /healthz          the process answers (no credentials)
  GET /readyz           the database answers too (no credentials; 503 otherwise)
  GET /metrics          Prometheus metrics; protect it with --metrics-token-file
                        (or STOREX_SYNC_METRICS_TOKEN), or block it at the proxy
  --disable-metrics     no /metrics
  --log                 log every request (JSON lines on stdout; warnings and
                        errors, with request id and user id, are always logged)
  -h, --help            show this text

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

Clients use HttpSharedSyncLog from @storex-sync/shared-sync-log-http with
{ url: 'http://<host>:<port>', token }. Stop the server with Ctrl-C (SIGINT) or
SIGTERM: it stops accepting, lets running requests finish for up to 3 s, exits.
`

export class UsageError extends Error {}

export interface CliOptions {
  port: number
  host: string
  database: string
  /** Token file (development), or null with JWTs. */
  auth: string | null
  jwt: { secretFile?: string; secret?: string; jwksUrl?: string; issuer: string; audience: string; userClaim: string } | null
  bodyLimit: number
  maxBatchSize: number
  log: boolean
  trustProxy: boolean | string | number
  requestTimeoutMs: number
  rateLimit: { perAddressPerMinute: number; perUserPerMinute: number }
  quotas: { maxDevicesPerUser?: number; maxEntriesPerUser?: number; maxBytesPerUser?: number }
  corsOrigins: string[]
  metrics: { enabled: boolean; tokenFile?: string; token?: string }
}

export function parseSize(text: string, name = 'body-limit'): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim())
  if (!match) throw new UsageError(`--${name}: "${text}" is not a size; use bytes (1048576) or a unit (512kb, 4mb)`)
  const units: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 }
  const bytes = Math.floor(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!)
  if (bytes < 1024) throw new UsageError(`--${name}: ${text} is too small; give at least 1kb`)
  return bytes
}

function parseInteger(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name}: "${text}" is not a whole number between ${min} and ${max}`)
  }
  return Number(text)
}

export function parseCliArgs(argv: string[]): CliOptions | 'help' {
  let values: Record<string, string | boolean | string[] | undefined>
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        database: { type: 'string' },
        auth: { type: 'string' },
        'body-limit': { type: 'string' },
        'max-batch-size': { type: 'string' },
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
        log: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  if (values.help) return 'help'
  const env = process.env
  const str = (name: string) => values[name] as string | undefined
  const jwtSecret = str('jwt-secret-file') === undefined ? env.STOREX_SYNC_JWT_SECRET || undefined : undefined
  const wantsJwt = str('jwt-secret-file') !== undefined || jwtSecret !== undefined || str('jwks-url') !== undefined
  if (!values.auth && !wantsJwt) {
    throw new UsageError('--auth is required unless JWTs are configured: every request must carry a token. For development, create a JSON file {"<token of 32+ characters>": "<user id>"} and pass --auth <file>; in production pass --jwks-url or --jwt-secret-file with --jwt-issuer and --jwt-audience')
  }
  if (values.auth && wantsJwt) {
    throw new UsageError('give either --auth (a token file) or JWT options (--jwt-secret-file/--jwks-url), not both')
  }
  if (str('jwt-secret-file') !== undefined && str('jwks-url') !== undefined) {
    throw new UsageError('give either --jwt-secret-file or --jwks-url, not both')
  }
  if (wantsJwt && (!str('jwt-issuer') || !str('jwt-audience'))) {
    throw new UsageError('JWTs need --jwt-issuer and --jwt-audience: the "iss" and "aud" your identity provider puts in the tokens meant for this server')
  }
  const trust = str('trust-proxy')
  const optionalInteger = (name: string) => (str(name) === undefined ? undefined : parseInteger(name, str(name)!, 1, Number.MAX_SAFE_INTEGER))
  return {
    port: values.port === undefined ? 8080 : parseInteger('port', values.port as string, 0, 65535),
    host: (values.host as string | undefined) ?? '127.0.0.1',
    database: (values.database as string | undefined) ?? env.DATABASE_URL ?? './storex-sync.sqlite',
    auth: (values.auth as string | undefined) ?? null,
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
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`--cors-origin: "${origin}" is not an origin; give scheme and host, e.g. https://app.example.com`)
      return origin
    }),
    metrics: { enabled: !values['disable-metrics'], tokenFile: str('metrics-token-file'), token: str('metrics-token-file') === undefined ? env.STOREX_SYNC_METRICS_TOKEN || undefined : undefined },
    bodyLimit: values['body-limit'] === undefined ? DEFAULT_BODY_LIMIT : parseSize(values['body-limit'] as string),
    maxBatchSize: values['max-batch-size'] === undefined ? DEFAULT_MAX_BATCH_SIZE : parseInteger('max-batch-size', values['max-batch-size'] as string, 1, 100_000),
    log: Boolean(values.log),
  }
}

export interface CliIo {
  out: (line: string) => void
  err: (line: string) => void
}

/** Runs the command; resolves with a stop function once listening, or rejects with a printable error. */
export async function startFromCli(argv: string[], io: CliIo): Promise<{ stop(): Promise<void>; url: string } | null> {
  const options = parseCliArgs(argv)
  if (options === 'help') {
    io.out(HELP)
    return null
  }
  let authenticate: Authenticator
  let authDescription: string
  if (options.auth !== null) {
    const tokens = await loadTokenFile(options.auth)
    authenticate = staticTokenAuthenticator(tokens)
    const tokenCount = Object.keys(tokens).length
    authDescription = `${tokenCount} token${tokenCount === 1 ? '' : 's'} from ${basename(options.auth)}`
  } else {
    const jwt = options.jwt!
    const secret = jwt.secretFile !== undefined ? (await readSecretFile(jwt.secretFile, 'JWT secret')) : jwt.secret
    authenticate = jwtAuthenticator({ secret, jwksUrl: jwt.jwksUrl, issuer: jwt.issuer, audience: jwt.audience, userIdClaim: jwt.userClaim })
    authDescription = `JWT (${jwt.jwksUrl ? `keys from ${jwt.jwksUrl}` : 'HS256 secret'}, iss ${jwt.issuer}, aud ${jwt.audience}, user from "${jwt.userClaim}")`
  }
  const metricsToken = options.metrics.tokenFile !== undefined ? await readSecretFile(options.metrics.tokenFile, 'metrics token') : options.metrics.token
  let warn: (error: Error) => void = () => {}
  const opened = await openSharedSyncLog({ database: options.database, onConnectionError: (error) => warn(error) })
  const quotas = options.quotas
  const app = await createSyncServer({
    sharedSyncLog: opened.sharedSyncLog,
    authenticate,
    bodyLimit: options.bodyLimit,
    maxBatchSize: options.maxBatchSize,
    logger: options.log ? true : { level: 'warn' },
    trustProxy: options.trustProxy,
    requestTimeoutMs: options.requestTimeoutMs,
    rateLimit: options.rateLimit,
    metrics: options.metrics.enabled ? { token: metricsToken } : false,
    cors: options.corsOrigins.length ? { origins: options.corsOrigins } : undefined,
    quotas: { ...quotas, usage: (userId) => opened.usage(userId) },
    ping: () => opened.ping(),
  }).catch(async (error) => {
    await opened.close().catch(() => {})
    throw error
  })
  warn = (error) => app.log.warn({ err: error }, 'storex-sync: database connection error (recovered; the next query reconnects)')
  app.addHook('onClose', async () => {
    await opened.close()
  })
  try {
    await app.listen({ port: options.port, host: options.host })
  } catch (cause) {
    await app.close().catch(() => {})
    const code = (cause as { code?: string }).code
    if (code === 'EADDRINUSE') {
      throw new SyncServerError('PORT_IN_USE', `port ${options.port} on ${options.host} is already in use; stop the other process or pick another --port.`, { cause })
    }
    if (code === 'EACCES') {
      throw new SyncServerError('PORT_FORBIDDEN', `not allowed to listen on port ${options.port}; ports below 1024 need privileges, pick a higher --port.`, { cause })
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new SyncServerError('BAD_HOST', `cannot listen on --host ${options.host} (${code}); use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0.`, { cause })
    }
    throw cause
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${shownHost}:${port}`
  io.out(`storex-sync-server listening on ${url} | database: ${opened.description} | auth: ${authDescription} | body limit: ${options.bodyLimit} bytes`)
  return { url, stop: () => app.close() }
}

/** The process entry: exit code 2 for usage errors, 1 for start-up failures. */
export async function runCli(argv: string[]): Promise<void> {
  const io: CliIo = { out: (line) => process.stdout.write(line + '\n'), err: (line) => process.stderr.write(line + '\n') }
  let server: Awaited<ReturnType<typeof startFromCli>>
  try {
    server = await startFromCli(argv, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`storex-sync-server: ${error.message}\nRun storex-sync-server --help for the options.`)
      process.exitCode = 2
      return
    }
    const message = isSyncError(error) ? error.message.replace(/^@storex-sync\/sync-server: /, '') : (error as Error)?.message ?? String(error)
    io.err(`storex-sync-server: could not start: ${message}`)
    process.exitCode = 1
    return
  }
  if (!server) return
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    io.out(`storex-sync-server: ${signal} received, closing connections`)
    // close() cuts requests still running after 3 s; this is the last resort
    // (a database that does not answer), well within docker stop's 10 s.
    setTimeout(() => {
      io.err('storex-sync-server: did not stop within 8 s, exiting anyway')
      process.exit(1)
    }, 8000).unref()
    server!.stop().then(
      () => process.exit(0),
      (error) => {
        io.err(`storex-sync-server: error while stopping: ${(error as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
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
