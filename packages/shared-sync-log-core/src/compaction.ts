import { SharedSyncLogError } from './errors'
import type { DeviceId } from './types'

/** What a log knows of one device of the user, for `decideCompaction()`. */
export interface CompactionDevice {
  deviceId: DeviceId
  /** Position (sequence) of the last entry the device has read. */
  seenUntil: number
  /** Wall-clock time (ms) of its creation, last write or last read. */
  activeAt: number
}

export interface CompactionDecision {
  /** Delete every entry up to and including this sequence (never below the current compactedUntil). */
  compactUntil: number
  /** Devices left behind the new compactedUntil by this decision (newly retired). */
  retiredDevices: DeviceId[]
}

/**
 * The one compaction rule every log implements: a device holds compaction
 * back at its cursor unless it is already behind the compacted part
 * (retired, or created after it), or it has been silent for longer than the
 * retention while entries wait for it (then it is retired). A device that has
 * read everything never holds anything back, however long it is silent.
 */
export function decideCompaction(
  devices: CompactionDevice[],
  log: { compactedUntil: number; lastSequence: number; retentionMs: number; now: number },
): CompactionDecision {
  let compactUntil = log.lastSequence
  for (const device of devices) {
    if (device.seenUntil < log.compactedUntil) {
      continue
    }
    const silent = device.activeAt < log.now - log.retentionMs
    if (silent && device.seenUntil < log.lastSequence) {
      continue
    }
    compactUntil = Math.min(compactUntil, device.seenUntil)
  }
  compactUntil = Math.max(compactUntil, log.compactedUntil)
  const retiredDevices = devices
    .filter((device) => device.seenUntil >= log.compactedUntil && device.seenUntil < compactUntil)
    .map((device) => device.deviceId)
  return { compactUntil, retiredDevices }
}

/** Throws `INVALID_ARGUMENT` unless `retentionMs` is a non-negative finite number. */
export function validateRetention(retentionMs: unknown): asserts retentionMs is number {
  if (typeof retentionMs !== 'number' || !Number.isFinite(retentionMs) || retentionMs < 0) {
    throw new SharedSyncLogError(
      'INVALID_ARGUMENT',
      `retentionMs must be a non-negative number of milliseconds, got ${String(retentionMs)}; pass how long a silent device keeps its place (e.g. 30 days)`,
    )
  }
}
