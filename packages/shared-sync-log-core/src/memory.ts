import { SharedSyncLogError } from './errors'
import { decideCompaction, validateRetention } from './compaction'
import { randomStringId } from './internal/random-id'
import { enforceLimits, validateLimits, type SharedSyncLogLimits } from './limits'
import {
  resolveNow,
  type DeviceId,
  type Now,
  type SharedSyncLog,
  type SharedSyncLogCompactionOptions,
  type SharedSyncLogCompactionResult,
  type SharedSyncLogDeviceInfo,
  type SharedSyncLogEntry,
  type SharedSyncLogEntryInput,
  type SharedSyncLogMemo,
  type SharedSyncLogUpdate,
  type UserId,
} from './types'
import {
  createSequenceMemo,
  entryIdentityKey,
  readSequenceMemo,
  validateBatchSize,
  validateEntryInputs,
  validateUserId,
} from './validation'

export interface MemorySharedSyncLogOptions {
  /** Type of the device ids handed out: 'int' (1, 2, 3, ...; the default) or 'string' (random UUIDs). */
  autoPkType?: 'int' | 'string'
  /**
   * What one write may hold; published by `getLimits()` and enforced: a
   * larger write throws `SharedSyncLogRefusalError` `REQUEST_TOO_LARGE` and
   * stores nothing. Default: no limits.
   */
  limits?: SharedSyncLogLimits
}

interface StoredDevice {
  userKey: string
  sharedUntil: number | null
  /** Sequence of the last entry this device has seen (0: none). */
  seenUntil: number
  /** Wall-clock time (ms) of its creation, last write or last read: what retirement looks at. */
  activeAt: number
}

interface StoredEntry {
  sequence: number
  deviceId: DeviceId
  createdOn: number
  sharedOn: number
  data: string
  hasExtraSentInfo: boolean
  extraSentInfo: unknown
}

interface StoredUser {
  /** The entries after `compactedUntil`, in sequence order (gapless). */
  entries: StoredEntry[]
  keys: Set<string>
  /** Entries up to this sequence were compacted away. */
  compactedUntil: number
  lastSequence: number
}

/**
 * The shared log in memory: for tests, demos and single-process apps. Each
 * user has a log of its own, ordered by a sequence the log assigns (1, 2, 3,
 * ...). Everything is copied in and out, so callers cannot change stored
 * entries by mutating what they passed or received.
 */
export class MemorySharedSyncLog implements SharedSyncLog {
  private readonly autoPkType: 'int' | 'string'
  private readonly devices = new Map<DeviceId, StoredDevice>()
  private readonly users = new Map<string, StoredUser>()
  private lastIntDeviceId = 0
  private readonly limits: SharedSyncLogLimits

  constructor(options: MemorySharedSyncLogOptions = {}) {
    const autoPkType = options.autoPkType ?? 'int'
    if (autoPkType !== 'int' && autoPkType !== 'string') {
      throw new SharedSyncLogError(
        'INVALID_OPTION',
        `autoPkType must be 'int' or 'string', got ${JSON.stringify(autoPkType)}`,
      )
    }
    this.autoPkType = autoPkType
    this.limits = validateLimits(options.limits)
  }

  async getLimits(): Promise<SharedSyncLogLimits> {
    return { ...this.limits }
  }

  async getServerTime(): Promise<number> {
    return Date.now()
  }

  async createDeviceId(options: { userId: UserId; sharedUntil?: number | null; now?: Now }): Promise<DeviceId> {
    validateUserId(options.userId)
    const deviceId: DeviceId = this.autoPkType === 'int' ? ++this.lastIntDeviceId : randomStringId()
    this.devices.set(deviceId, {
      userKey: String(options.userId),
      sharedUntil: options.sharedUntil ?? null,
      seenUntil: 0,
      activeAt: resolveNow(options.now),
    })
    return deviceId
  }

  async getDeviceInfo(options: { userId: UserId; deviceId: DeviceId }): Promise<SharedSyncLogDeviceInfo | null> {
    validateUserId(options.userId)
    const device = this.findDevice(options.userId, options.deviceId)
    if (!device) {
      return null
    }
    return device.seenUntil < this.getUser(options.userId).compactedUntil
      ? { sharedUntil: device.sharedUntil, snapshotRequired: true }
      : { sharedUntil: device.sharedUntil }
  }

  async compact(options: SharedSyncLogCompactionOptions): Promise<SharedSyncLogCompactionResult> {
    validateUserId(options.userId)
    validateRetention(options.retentionMs)
    const now = resolveNow(options.now)
    const user = this.getUser(options.userId)
    const devices = [...this.devices].filter(([, device]) => device.userKey === String(options.userId))
    const decision = decideCompaction(
      devices.map(([deviceId, device]) => ({ deviceId, seenUntil: device.seenUntil, activeAt: device.activeAt })),
      { compactedUntil: user.compactedUntil, lastSequence: user.lastSequence, retentionMs: options.retentionMs, now },
    )
    const deleted = decision.compactUntil - user.compactedUntil
    user.entries.splice(0, deleted)
    user.compactedUntil = decision.compactUntil
    return { deletedEntries: deleted, retiredDevices: decision.retiredDevices, remainingEntries: user.entries.length }
  }

  async writeEntries(
    entries: Array<SharedSyncLogEntryInput>,
    options: { userId: UserId; deviceId: DeviceId; now?: Now; extraSentInfo?: unknown },
  ): Promise<void> {
    validateUserId(options.userId)
    validateEntryInputs(entries)
    this.requireDevice(options.userId, options.deviceId)
    const device = this.requireDevice(options.userId, options.deviceId)
    enforceLimits(entries, options, this.limits)
    const sharedOn = resolveNow(options.now)
    device.activeAt = Math.max(device.activeAt, sharedOn)
    const hasExtraSentInfo = options.extraSentInfo !== undefined
    const user = this.getUser(options.userId)
    for (const entry of entries) {
      const key = entryIdentityKey(options.userId, options.deviceId, entry.createdOn)
      if (user.keys.has(key)) {
        continue
      }
      user.keys.add(key)
      user.entries.push({
        sequence: ++user.lastSequence,
        deviceId: options.deviceId,
        createdOn: entry.createdOn,
        sharedOn,
        data: entry.data,
        hasExtraSentInfo,
        extraSentInfo: hasExtraSentInfo ? clone(options.extraSentInfo) : undefined,
      })
    }
  }

  async getUnsyncedEntries(options: { userId: UserId; deviceId: DeviceId; batchSize?: number }): Promise<SharedSyncLogUpdate> {
    validateUserId(options.userId)
    validateBatchSize(options.batchSize)
    const device = this.requireDevice(options.userId, options.deviceId)
    const user = this.getUser(options.userId)
    if (device.seenUntil < user.compactedUntil) {
      throw SharedSyncLogError.snapshotRequired(options.deviceId)
    }
    const log = user.entries
    const limit = options.batchSize ?? Infinity
    const picked: StoredEntry[] = []
    let end = device.seenUntil
    let hasMore = false
    let remaining = 0
    // Sequences are gapless after the compacted part, so the entry after the cursor is at index `seenUntil - compactedUntil`.
    for (let index = device.seenUntil - user.compactedUntil; index < log.length; index += 1) {
      const entry = log[index]!
      if (hasMore) {
        remaining += entry.deviceId === options.deviceId ? 0 : 1
        continue
      }
      if (entry.deviceId === options.deviceId) {
        end = entry.sequence
        continue
      }
      if (picked.length === limit) {
        hasMore = true
        remaining += 1
        continue
      }
      picked.push(entry)
      end = entry.sequence
    }
    return {
      entries: picked.map((entry) => this.toPublicEntry(options.userId, entry)),
      memo: createSequenceMemo(end),
      hasMore,
      remaining,
    }
  }

  async markAsSeen(
    update: { memo: SharedSyncLogMemo },
    options: { userId: UserId; deviceId: DeviceId; now?: Now },
  ): Promise<void> {
    validateUserId(options.userId)
    const device = this.requireDevice(options.userId, options.deviceId)
    const sequence = readSequenceMemo(update?.memo)
    if (sequence > this.getUser(options.userId).lastSequence) {
      throw SharedSyncLogError.invalidMemo(update.memo)
    }
    device.seenUntil = Math.max(device.seenUntil, sequence)
    device.sharedUntil = resolveNow(options.now)
    device.activeAt = Math.max(device.activeAt, device.sharedUntil)
  }

  private findDevice(userId: UserId, deviceId: DeviceId): StoredDevice | null {
    const device = this.devices.get(deviceId)
    return device && device.userKey === String(userId) ? device : null
  }

  private requireDevice(userId: UserId, deviceId: DeviceId): StoredDevice {
    const device = this.findDevice(userId, deviceId)
    if (!device) {
      throw SharedSyncLogError.unknownDevice(deviceId)
    }
    return device
  }

  private getUser(userId: UserId): StoredUser {
    const key = String(userId)
    let user = this.users.get(key)
    if (!user) {
      user = { entries: [], keys: new Set(), compactedUntil: 0, lastSequence: 0 }
      this.users.set(key, user)
    }
    return user
  }

  private toPublicEntry(userId: UserId, entry: StoredEntry): SharedSyncLogEntry {
    const result: SharedSyncLogEntry = {
      userId,
      deviceId: entry.deviceId,
      createdOn: entry.createdOn,
      sharedOn: entry.sharedOn,
      data: entry.data,
    }
    if (entry.hasExtraSentInfo) {
      result.extraSentInfo = clone(entry.extraSentInfo)
    }
    return result
  }
}

function clone<T>(value: T): T {
  return value === null || typeof value !== 'object' ? value : structuredClone(value)
}
