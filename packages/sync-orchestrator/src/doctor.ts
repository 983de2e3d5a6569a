import { errorDetail } from '@storex-sync/errors'
import { hlcWallTime, type ClientSyncLogStorage } from '@storex-sync/client-sync-log'
import type { DeviceId, SharedSyncLog, UserId } from '@storex-sync/shared-sync-log-core'
import type { ContinuousSyncStatus } from './continuous-sync-types'
import type { SyncStage } from './types'

/**
 * Every state in which a device is not in sync, by name:
 * - `UNSENT_ENTRIES`: own changes wait to be sent (with the oldest one's age);
 * - `OUTGOING_QUARANTINE`: own changes the shared log refused for good, set aside;
 * - `INCOMING_QUARANTINE`: received changes this device cannot use, set aside;
 * - `INTEGRATION_PENDING`: received changes not applied yet (or whose reconciliation failed);
 * - `STAGE_FAILED`: the last attempt of a stage (receive, share, integrate) failed;
 * - `AUTH_REFUSED`: the shared log refused the credentials;
 * - `SERVER_UNREACHABLE`: the shared log did not answer (network, timeouts, server errors);
 * - `CLOCK_OFF`: this device's clock is far from the shared log's;
 * - `DEVICE_UNKNOWN`: the shared log does not know this device (removed, or another user's);
 * - `DEVICE_RETIRED`: the server retired this device after a silence longer than its retention: the next sync sends
 *   its changes and starts again from the server's copy (a snapshot);
 * - `NOT_SYNCING`: automatic sync is stopped or paused, or has never finished a sync.
 * - `NOT_REGISTERED`: the device wrote offline from its first start and has not reached the shared log yet.
 */
export type SyncFindingCode =
  | 'UNSENT_ENTRIES'
  | 'OUTGOING_QUARANTINE'
  | 'INCOMING_QUARANTINE'
  | 'INTEGRATION_PENDING'
  | 'STAGE_FAILED'
  | 'AUTH_REFUSED'
  | 'SERVER_UNREACHABLE'
  | 'CLOCK_OFF'
  | 'DEVICE_UNKNOWN'
  | 'DEVICE_RETIRED'
  | 'NOT_SYNCING'
  | 'NOT_REGISTERED'

export interface SyncFinding {
  code: SyncFindingCode
  /** `problem`: needs someone to act; `waiting`: resolves by itself with the next successful sync. */
  severity: 'problem' | 'waiting'
  /** One sentence for the user of the app, in plain words. */
  message: string
  /** What to do about it, in plain words. */
  advice: string
  /** The figures behind the message. */
  details: Record<string, unknown>
}

export interface SyncDiagnosis {
  /** True when nothing was found: everything written here was sent, everything received applied. */
  inSync: boolean
  /** Wall clock (ms) of the diagnosis. */
  checkedAt: number
  findings: SyncFinding[]
}

export interface DiagnoseSyncOptions {
  clientSyncLog: ClientSyncLogStorage
  sharedSyncLog: SharedSyncLog
  userId: UserId
  /** Default: the id the client sync log keeps; a device not registered yet is reported as such, not asked about. */
  deviceId?: DeviceId
  /** The ContinuousSync running on this device (or its status): last errors per stage, state. */
  continuousSync?: { status: ContinuousSyncStatus } | null
  /** For apps calling doSync themselves: the error of the last sync, if it failed, and its stage. */
  lastError?: { error: unknown; stage?: SyncStage; at?: number } | null
  /** Ask the shared log about this device and its clock (default true). Off: only local state is read. */
  probe?: boolean
  /** A clock this far (ms) from the shared log's is reported (default 60000). */
  maxClockOffsetMs?: number
  /** The device's wall clock (default Date.now). */
  getNow?: () => number
}

const STAGE_WORDS: Record<SyncStage, string> = {
  receive: 'Receiving changes from other devices',
  share: 'Sending changes from this device',
  integrate: 'Applying received changes',
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

/** "3 minutes", "2 hours", "5 days". */
export function describeDuration(ms: number): string {
  const abs = Math.abs(ms)
  if (abs < 60_000) return plural(Math.max(1, Math.round(abs / 1000)), 'second')
  if (abs < 3_600_000) return plural(Math.round(abs / 60_000), 'minute')
  if (abs < 2 * 86_400_000) return plural(Math.round(abs / 3_600_000), 'hour')
  return plural(Math.round(abs / 86_400_000), 'day')
}

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`
}

type ErrorKind = 'auth' | 'unreachable' | 'unknownDevice' | 'other'

/** What kind of failure an error of the shared log (or of a sync) is, from its code and HTTP status. */
export function classifySyncError(error: unknown): ErrorKind {
  for (let current = error as any, depth = 0; current && depth < 5; current = current.cause, depth += 1) {
    const code = typeof current?.code === 'string' ? current.code : ''
    const status = typeof current?.status === 'number' ? current.status : undefined
    if (code === 'UNAUTHENTICATED' || code === 'NO_TOKEN' || code === 'FORBIDDEN' || status === 401 || status === 403) return 'auth'
    if (code === 'UNKNOWN_DEVICE' || code === 'DEVICE_NOT_FOUND' || code === 'DEVICE_RETIRED') return 'unknownDevice'
    if (
      ['NETWORK_ERROR', 'TIMEOUT', 'SERVER_ERROR', 'INTERNAL_ERROR', 'RATE_LIMITED', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code) ||
      (status !== undefined && (status >= 500 || status === 429))
    ) {
      return 'unreachable'
    }
  }
  return 'other'
}

function errorMessage(error: unknown): string {
  return errorDetail(error)
}

/**
 * The sync doctor: one call that names every state in which this device is
 * not in sync with the others, and why, in words a user understands. It
 * reads the client sync log (entries waiting, both quarantines, integration
 * still pending), the ContinuousSync status (last error of each stage), and,
 * unless `probe: false`, asks the shared log whether it knows this device,
 * accepts the credentials, and how far its clock is from this one.
 * It never changes anything.
 */
export async function diagnoseSync(options: DiagnoseSyncOptions): Promise<SyncDiagnosis> {
  const getNow = options.getNow ?? (() => Date.now())
  const now = getNow()
  const findings: SyncFinding[] = []
  const { clientSyncLog, sharedSyncLog } = options
  const add = (finding: SyncFinding) => findings.push(finding)

  // What waits on this device.
  const pending = await clientSyncLog.countPending()
  if (pending.unshared > 0) {
    const [oldest] = await clientSyncLog.getUnsharedEntries({ batchSize: 1 })
    const oldestAgeMs = oldest ? Math.max(0, now - hlcWallTime(oldest.createdOn)) : 0
    add({
      code: 'UNSENT_ENTRIES',
      severity: 'waiting',
      message: `${plural(pending.unshared, 'change')} made on this device ${pending.unshared === 1 ? 'has' : 'have'} not been sent yet; the oldest is ${describeDuration(oldestAgeMs)} old.`,
      advice: 'They are sent with the next successful sync; stay online.',
      details: { count: pending.unshared, oldestAgeMs, oldestCreatedOn: oldest?.createdOn ?? null },
    })
  }
  if (typeof clientSyncLog.getOutgoingQuarantinedEntries === 'function') {
    const outgoing = await clientSyncLog.getOutgoingQuarantinedEntries()
    if (outgoing.length) {
      const byReason: Record<string, number> = {}
      for (const entry of outgoing) byReason[entry.reason] = (byReason[entry.reason] ?? 0) + 1
      const objects = new Set(outgoing.map((entry) => entry.objectKey)).size
      const sizes = outgoing
        .map((entry) => /takes (\d+) bytes/.exec(entry.message)?.[1])
        .filter((value): value is string => !!value)
        .map(Number)
      const reasons: string[] = []
      if (byReason.TOO_LARGE) reasons.push(`${plural(byReason.TOO_LARGE, 'change')} too large for the server${sizes.length ? ` (up to ${describeBytes(Math.max(...sizes))})` : ''}`)
      if (byReason.REFUSED) reasons.push(`${plural(byReason.REFUSED, 'change')} the server refused (${outgoing.find((entry) => entry.reason === 'REFUSED')!.message})`)
      if (byReason.UNSERIALIZABLE) reasons.push(`${plural(byReason.UNSERIALIZABLE, 'change')} that could not be encoded`)
      if (byReason.HELD_BEHIND) reasons.push(`${plural(byReason.HELD_BEHIND, 'later change')} to the same ${objects === 1 ? 'item' : 'items'}, waiting with them`)
      add({
        code: 'OUTGOING_QUARANTINE',
        severity: 'problem',
        message: `${plural(objects, 'item')} on this device could not be uploaded and ${objects === 1 ? 'is' : 'are'} kept only here: ${reasons.join('; ')}.`,
        advice: 'Delete the item, make it smaller and retry, retry after the server was updated, or discard the change (the item then goes back to what the other devices have).',
        details: { count: outgoing.length, objects, byReason, ids: outgoing.map((entry) => entry.id) },
      })
    }
  }
  const incoming = await clientSyncLog.getQuarantinedEntries()
  if (incoming.length) {
    const byReason: Record<string, number> = {}
    for (const entry of incoming) byReason[entry.reason] = (byReason[entry.reason] ?? 0) + 1
    const newer = (byReason.UNKNOWN_COLLECTION ?? 0) + (byReason.UNKNOWN_OPERATION ?? 0)
    add({
      code: 'INCOMING_QUARANTINE',
      severity: 'problem',
      message: `${plural(incoming.length, 'change')} from other devices could not be used here and ${incoming.length === 1 ? 'was' : 'were'} set aside${newer ? ` (${newer} written by a newer version of the app)` : ''}.`,
      advice: newer ? 'Update the app on this device, then retry them.' : 'Report it to the app’s support; the changes are kept and can be retried.',
      details: { count: incoming.length, byReason },
    })
  }
  if (pending.needsIntegration > 0) {
    add({
      code: 'INTEGRATION_PENDING',
      severity: 'waiting',
      message: `${plural(pending.needsIntegration, 'change')} received from other devices ${pending.needsIntegration === 1 ? 'is' : 'are'} not applied here yet.`,
      advice: 'They are applied with the next sync; if this stays, an error below says why.',
      details: { count: pending.needsIntegration },
    })
  }

  // What the last syncs said.
  const status = options.continuousSync?.status ?? null
  const stageErrors: Array<{ stage: SyncStage | null; error: unknown; at: number | null }> = []
  if (status) {
    for (const [stage, failure] of Object.entries(status.stageErrors ?? {})) {
      if (failure) stageErrors.push({ stage: stage as SyncStage, error: failure.error, at: failure.at })
    }
    if (!stageErrors.length && status.lastError) stageErrors.push({ stage: null, error: status.lastError, at: null })
  }
  if (options.lastError?.error) {
    stageErrors.push({ stage: options.lastError.stage ?? null, error: options.lastError.error, at: options.lastError.at ?? null })
  }
  const kinds = new Set<ErrorKind>()
  for (const failure of stageErrors) {
    const kind = classifySyncError(failure.error)
    kinds.add(kind)
    add({
      code: 'STAGE_FAILED',
      severity: kind === 'unreachable' ? 'waiting' : 'problem',
      message: `${failure.stage ? STAGE_WORDS[failure.stage] : 'The last sync'} failed${failure.at !== null ? ` ${describeDuration(now - failure.at)} ago` : ''}: ${
        kind === 'unreachable'
          ? 'the sync server could not be reached (no connection, or the server is busy).'
          : kind === 'auth'
            ? 'the sync server refused the sign-in.'
            : kind === 'unknownDevice'
              ? 'the sync server does not know this device.'
              : errorMessage(failure.error)
      }`,
      advice: kind === 'unreachable' ? 'Sync retries by itself; check the internet connection if this stays.' : 'See the other findings; if none explains it, report the message.',
      details: { stage: failure.stage, error: failure.error, errorMessage: errorMessage(failure.error), at: failure.at },
    })
  }
  if (status && (status.state !== 'running' || (status.lastSyncAt === null && !status.syncing))) {
    add({
      code: 'NOT_SYNCING',
      severity: status.state === 'running' ? 'waiting' : 'problem',
      message:
        status.state === 'running'
          ? 'This device has not finished a sync yet.'
          : `Automatic sync is ${status.state === 'paused' ? 'paused' : 'stopped'}${status.lastSyncAt ? `; the last sync finished ${describeDuration(now - status.lastSyncAt)} ago` : ''}.`,
      advice: status.state === 'running' ? 'Wait a moment.' : 'Turn sync back on.',
      details: { state: status.state, lastSyncAt: status.lastSyncAt },
    })
  }

  // A device that wrote before it ever reached the shared log has no id there yet.
  const identity = options.deviceId === undefined ? await options.clientSyncLog.getDeviceIdentity() : null
  const deviceId = options.deviceId ?? (identity?.registered ? identity.deviceId : undefined)
  if (deviceId === undefined) {
    add({
      code: 'NOT_REGISTERED',
      severity: 'waiting',
      message: 'This device has not reached the sync server yet; its changes are kept here.',
      advice: 'Connect to the internet: the first sync registers the device and sends its changes.',
      details: {},
    })
  }

  // What the shared log says.
  if (options.probe !== false && deviceId !== undefined) {
    let authRefused = false
    try {
      const info = (await sharedSyncLog.getDeviceInfo({ userId: options.userId, deviceId })) as
        | (Record<string, unknown> & { sharedUntil: number | null })
        | null
      if (!info) {
        kinds.add('unknownDevice')
      } else if (info['snapshotRequired'] === true) {
        add({
          code: 'DEVICE_RETIRED',
          severity: 'waiting',
          message: 'This device was away longer than the server keeps its history of changes.',
          advice: 'Nothing is lost: the next sync sends the changes made here, then loads the current data from the server.',
          details: { info },
        })
      }
      if (typeof sharedSyncLog.getServerTime === 'function') {
        const serverTime = await sharedSyncLog.getServerTime()
        const offsetMs = getNow() - serverTime
        const max = options.maxClockOffsetMs ?? 60_000
        if (Math.abs(offsetMs) > max) {
          add({
            code: 'CLOCK_OFF',
            severity: 'problem',
            message: `This device’s clock is ${describeDuration(offsetMs)} ${offsetMs > 0 ? 'ahead of' : 'behind'} the server’s.`,
            advice: 'Set the date and time of this device to update automatically; changes made now may sort in the wrong order.',
            details: { offsetMs, serverTime, maxClockOffsetMs: max },
          })
        }
      }
    } catch (error) {
      const kind = classifySyncError(error)
      kinds.add(kind)
      if (kind === 'auth') authRefused = true
      if (kind === 'unreachable' || kind === 'other') {
        add({
          code: 'SERVER_UNREACHABLE',
          severity: 'waiting',
          message: kind === 'unreachable' ? 'The sync server could not be reached.' : `Asking the sync server failed: ${errorMessage(error)}`,
          advice: 'Check the internet connection; sync retries by itself.',
          details: { error, errorMessage: errorMessage(error) },
        })
      }
    }
    void authRefused
  }
  if (kinds.has('auth')) {
    add({
      code: 'AUTH_REFUSED',
      severity: 'problem',
      message: 'The sync server refused this device’s sign-in (the session may have expired).',
      advice: 'Sign in again; nothing is lost meanwhile.',
      details: {},
    })
  }
  if (kinds.has('unknownDevice')) {
    add({
      code: 'DEVICE_UNKNOWN',
      severity: 'problem',
      message: 'The sync server does not know this device (it was removed, or belongs to another account).',
      advice: 'Sign in again to register this device anew.',
      details: { deviceId },
    })
  }
  return { inSync: findings.length === 0, checkedAt: now, findings }
}
