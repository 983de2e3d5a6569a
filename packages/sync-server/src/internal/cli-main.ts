import { parseArgs } from 'node:util'
import { errorDetail } from '@storex-sync/errors'
import { createSyncServer, DEFAULT_BODY_LIMIT, DEFAULT_MAX_BATCH_SIZE } from './app'
import { EXTRA_OPTIONS, JWT_HELP, LIMITS_HELP, SET_UPS_HELP, authenticatorFromCli, parseExtraOptions, serverOptionsFromCli, type ExtraCliOptions } from './cli-config'
import { openSharedSyncLog } from './open-log'
import { formatDuration, runCompactCommand } from './cli-compact'
import { SyncServerError } from '../errors'

export const HELP = `storex-sync-server: the storex-sync shared log over HTTP

Usage:
  storex-sync-server --auth tokens.json [options]                       (development)
  storex-sync-server compact [--database <db>] [--retention <duration>]  (one compaction pass;
                                                                        compact --help for more)
  storex-sync-server --jwt-secret-file f --jwt-issuer i --jwt-audience a [options]
  storex-sync-server --jwks-url u --jwt-issuer i --jwt-audience a [options]   (production)

Options:
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
  --auth <file>         JSON file mapping bearer tokens to user ids, for development:
                          {"<token of 32+ characters>": "alice", "<another>": "bob"}
${JWT_HELP}  --body-limit <size>   largest request body, e.g. 1048576, 512kb, 4mb (default 4mb)
  --max-batch-size <n>  most entries per read (default ${DEFAULT_MAX_BATCH_SIZE})
${LIMITS_HELP}  --log                 log every request (JSON lines on stdout; warnings and
                        errors, with request id and user id, are always logged)
  -h, --help            show this text

${SET_UPS_HELP}Clients use HttpSharedSyncLog from @storex-sync/shared-sync-log-http with
{ url: 'http://<host>:<port>', token }. Stop the server with Ctrl-C (SIGINT) or SIGTERM:
it stops accepting, lets running requests finish for up to 3 s, and exits.
`

export class UsageError extends Error {}

export interface CliOptions extends ExtraCliOptions {
  port: number
  host: string
  database: string
  /** The token file (development), or null with JWTs. */
  auth: string | null
  bodyLimit: number
  maxBatchSize: number
  log: boolean
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
        log: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...EXTRA_OPTIONS,
      },
    }))
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  if (values.help) return 'help'
  // JWT, limits, quotas, CORS, metrics; and exactly one way of authenticating (see cli-config.ts)
  const extra = parseExtraOptions(values, (message) => new UsageError(message), parseInteger, parseSize)
  return {
    ...extra,
    port: values.port === undefined ? 8080 : parseInteger('port', values.port as string, 0, 65535),
    host: (values.host as string | undefined) ?? '127.0.0.1',
    database: (values.database as string | undefined) ?? process.env.DATABASE_URL ?? './storex-sync.sqlite',
    auth: (values.auth as string | undefined) ?? null,
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
  const auth = await authenticatorFromCli(options)
  let warn: (error: Error) => void = () => {}
  const opened = await openSharedSyncLog({
    database: options.database,
    onConnectionError: (error) => warn(error),
    ...(options.replica ? { replica: { database: options.replica.database } } : {}),
  })
  const app = await createSyncServer({
    sharedSyncLog: opened.sharedSyncLog,
    authenticate: auth.authenticate,
    bodyLimit: options.bodyLimit,
    maxBatchSize: options.maxBatchSize,
    logger: options.log ? true : { level: 'warn' },
    ...(await serverOptionsFromCli(options, opened)),
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
  const replica = options.replica && opened.replica
    ? ` | replica: ${opened.replica.description}, retention ${formatDuration(options.replica.retentionMs)}, ${options.replica.compactionIntervalMs ? `compaction every ${formatDuration(options.replica.compactionIntervalMs)}` : 'no scheduled compaction'}`
    : ''
  io.out(`storex-sync-server listening on ${url} | database: ${opened.description} | auth: ${auth.description} | body limit: ${options.bodyLimit} bytes${replica}`)
  return { url, stop: () => app.close() }
}

/** The process entry: exit code 2 for usage errors, 1 for start-up failures. */
export async function runCli(argv: string[]): Promise<void> {
  const io: CliIo = { out: (line) => process.stdout.write(line + '\n'), err: (line) => process.stderr.write(line + '\n') }
  if (argv[0] === 'compact') {
    process.exitCode = await runCompact(argv.slice(1), io)
    return
  }
  let server: Awaited<ReturnType<typeof startFromCli>>
  try {
    server = await startFromCli(argv, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`storex-sync-server: ${error.message}\nRun storex-sync-server --help for the options.`)
      process.exitCode = 2
      return
    }
    const message = errorDetail(error)
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

async function runCompact(argv: string[], io: CliIo): Promise<number> {
  try {
    return await runCompactCommand(argv, { out: (text) => process.stdout.write(text), err: io.err, isTTY: Boolean(process.stdout.isTTY) }, (message) => new UsageError(message))
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`storex-sync-server compact: ${error.message}\nRun storex-sync-server compact --help for the options.`)
      return 2
    }
    const message = errorDetail(error)
    io.err(`storex-sync-server compact: failed: ${message}`)
    return 1
  }
}
