import { errorDetail } from '@storex-sync/errors'
import { SharedSyncLogError } from './errors'
import type { DeviceId, Now, SharedSyncLogEntryInput } from './types'

/**
 * The name of the rule by which a shared log measures a write, in bytes:
 * the UTF-8 length of `JSON.stringify({ deviceId, entries, now?, extraSentInfo? })`,
 * with each entry as `{ createdOn, data }` in that key order; exactly the body
 * the HTTP client sends. `measureWriteBytes()` applies it.
 */
export const WRITE_SIZE_RULE = 'json-utf8-v1' as const

/**
 * What a shared log accepts in one `writeEntries()` call, as it publishes it
 * through `getLimits()`. A limit left out is not enforced (or not known).
 */
export interface SharedSyncLogLimits {
  /** Most entries one write accepts. */
  maxEntriesPerWrite?: number
  /** Largest write in bytes, measured by `sizeRule`. */
  maxWriteBytes?: number
  /** How writes are measured; only `'json-utf8-v1'` (see `WRITE_SIZE_RULE`) exists. */
  sizeRule?: typeof WRITE_SIZE_RULE
}

/** One entry a shared log refused for good, and why. */
export interface EntryRefusal {
  /** The refused entry's createdOn (with the writing device, its identity). */
  createdOn: number
  /** Machine-readable: `TOO_LARGE`, `INVALID_ENTRY`, or the log's own code. */
  reason: string
  /** For a human: what was wrong. */
  message: string
}

/**
 * A refusal that will not pass if the same write is simply sent again:
 * - code `ENTRIES_REFUSED`: the log names the entries it refuses (`refused`);
 *   it stored nothing of the write, and the other entries may be sent again;
 * - code `REQUEST_TOO_LARGE`: the write as a whole is too large (`refused` is
 *   null: the log cannot say which entries); smaller writes may pass, and an
 *   entry refused on its own is too large for good.
 * Anything else a log throws (network, 5xx, 429, 401, timeouts) may pass
 * later and is retried by the caller, never treated as a refusal.
 */
export class SharedSyncLogRefusalError extends SharedSyncLogError {
  readonly refused: EntryRefusal[] | null
  /** The published limits, when the refusing log knows them. */
  readonly limits: SharedSyncLogLimits | null

  constructor(
    code: 'ENTRIES_REFUSED' | 'REQUEST_TOO_LARGE',
    message: string,
    options: { refused?: EntryRefusal[] | null; limits?: SharedSyncLogLimits | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause })
    this.refused = options.refused ?? null
    this.limits = options.limits ?? null
  }
}

/**
 * Reads a permanent refusal out of anything a `writeEntries()` threw, or
 * `null` for errors that may pass later. Goes by `code` and `refused`, so it
 * also recognises refusals from another copy of this package.
 */
export function readRefusal(error: unknown): { code: 'ENTRIES_REFUSED' | 'REQUEST_TOO_LARGE'; refused: EntryRefusal[] | null; message: string } | null {
  if (!error || typeof error !== 'object') {
    return null
  }
  const { code, refused } = error as { code?: unknown; refused?: unknown }
  // The log's words, without the package prefix of our errors.
  const message = errorDetail(error)
  if (code === 'REQUEST_TOO_LARGE') {
    return { code, refused: null, message }
  }
  if (code === 'ENTRIES_REFUSED' && Array.isArray(refused)) {
    const valid = refused.filter(
      (item): item is EntryRefusal => !!item && typeof item === 'object' && typeof (item as EntryRefusal).createdOn === 'number',
    )
    return {
      code,
      refused: valid.map((item) => ({ createdOn: item.createdOn, reason: String(item.reason ?? 'REFUSED'), message: String(item.message ?? '') })),
      message,
    }
  }
  return null
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        index += 1
      } else {
        bytes += 3
      }
    } else bytes += 3
  }
  return bytes
}

/** Bytes one entry adds to a write (`{"createdOn":…,"data":"…"}`), by the `json-utf8-v1` rule. */
export function measureEntryBytes(entry: SharedSyncLogEntryInput): number {
  return utf8Length(JSON.stringify({ createdOn: entry.createdOn, data: entry.data }))
}

/** Bytes of a write with these entries and options, by the `json-utf8-v1` rule: the exact HTTP body. */
export function measureWriteBytes(
  entries: SharedSyncLogEntryInput[],
  options: { deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
): number {
  const base = measureWriteOverhead(options)
  return base + entries.reduce((sum, entry) => sum + measureEntryBytes(entry), 0) + Math.max(0, entries.length - 1)
}

/** Bytes of a write without entries (`{"deviceId":…,"entries":[]…}`). */
export function measureWriteOverhead(options: { deviceId: DeviceId; now?: Now; extraSentInfo?: unknown }): number {
  const body: Record<string, unknown> = { deviceId: options.deviceId, entries: [] }
  if (options.now !== undefined) body.now = options.now
  if (options.extraSentInfo !== undefined) body.extraSentInfo = options.extraSentInfo
  return utf8Length(JSON.stringify(body))
}

/** Throws `INVALID_OPTION` unless the limits are positive whole numbers (or absent). */
export function validateLimits(limits: SharedSyncLogLimits | undefined): SharedSyncLogLimits {
  const result: SharedSyncLogLimits = {}
  for (const key of ['maxEntriesPerWrite', 'maxWriteBytes'] as const) {
    const value = limits?.[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'number' || !(value >= 1) || !Number.isFinite(value)) {
      throw new SharedSyncLogError('INVALID_OPTION', `limit ${key} must be a positive number, got ${JSON.stringify(value)}; leave it out for no limit`)
    }
    result[key] = Math.floor(value)
  }
  if (limits?.sizeRule !== undefined && limits.sizeRule !== WRITE_SIZE_RULE) {
    throw new SharedSyncLogError('INVALID_OPTION', `sizeRule ${JSON.stringify(limits.sizeRule)} is unknown; the only rule is '${WRITE_SIZE_RULE}'`)
  }
  if (result.maxWriteBytes !== undefined) result.sizeRule = WRITE_SIZE_RULE
  return result
}

/**
 * Checks a write against limits the way every log of this project does:
 * throws `REQUEST_TOO_LARGE` when the write is larger than `maxWriteBytes`
 * (or has more than `maxEntriesPerWrite` entries). Nothing is stored then.
 */
export function enforceLimits(
  entries: SharedSyncLogEntryInput[],
  options: { deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  limits: SharedSyncLogLimits,
): void {
  if (limits.maxEntriesPerWrite !== undefined && entries.length > limits.maxEntriesPerWrite) {
    throw new SharedSyncLogRefusalError(
      'REQUEST_TOO_LARGE',
      `a write of ${entries.length} entries is more than the log accepts (${limits.maxEntriesPerWrite}); send them in several writes (read getLimits())`,
      { limits },
    )
  }
  if (limits.maxWriteBytes !== undefined) {
    const bytes = measureWriteBytes(entries, options)
    if (bytes > limits.maxWriteBytes) {
      throw new SharedSyncLogRefusalError(
        'REQUEST_TOO_LARGE',
        `a write of ${bytes} bytes is larger than the log accepts (${limits.maxWriteBytes} bytes); send fewer entries per write, and set aside an entry too large on its own`,
        { limits },
      )
    }
  }
}
