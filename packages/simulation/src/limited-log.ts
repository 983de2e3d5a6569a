import {
  SharedSyncLogRefusalError,
  measureWriteBytes,
  type DeviceId,
  type SharedSyncLog,
  type SharedSyncLogLimits,
} from '@storex-sync/shared-sync-log-core'

/** Entries whose data holds this are refused by the limited log for good. */
export const REFUSE_FOREVER = '«refuse-forever»'
/** Entries whose data holds this are refused until the log is upgraded (`upgrade()`). */
export const REFUSE_UNTIL_UPGRADE = '«refuse-until-upgrade»'

export interface SharedLogLimitsSpec {
  /** Largest write in bytes (json-utf8-v1), enforced with REQUEST_TOO_LARGE. */
  maxWriteBytes: number
  /** Whether getLimits() tells it (false: like an older server that only answers 413). */
  publish: boolean
}

/**
 * A shared log with limits, as a server has them: a largest write (published
 * or not), entries it refuses for good, and entries it refuses until an
 * upgrade, after which they pass (as does anything up to 100 times the old
 * largest write). It remembers every entry it refused, by (device, createdOn).
 */
export class LimitedSharedSyncLog implements SharedSyncLog {
  upgraded = false
  /** Keys (JSON of [deviceId, createdOn]) of entries it refused by name. */
  readonly refusedEntries = new Set<string>()
  refusedWrites = 0

  constructor(
    readonly inner: SharedSyncLog,
    readonly spec: SharedLogLimitsSpec,
  ) {
    if (inner.getSnapshotPage) this.getSnapshotPage = (options) => inner.getSnapshotPage!(options)
  }

  getSnapshotPage?: SharedSyncLog['getSnapshotPage']

  /** The largest write accepted now. */
  get maxWriteBytes(): number {
    return this.upgraded ? this.spec.maxWriteBytes * 100 : this.spec.maxWriteBytes
  }

  upgrade(): void {
    this.upgraded = true
  }

  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (options) => this.inner.getDeviceInfo(options)
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = (options) => this.inner.getUnsyncedEntries(options)
  markAsSeen: SharedSyncLog['markAsSeen'] = (update, options) => this.inner.markAsSeen(update, options)

  async getLimits(): Promise<SharedSyncLogLimits> {
    return this.spec.publish ? { maxWriteBytes: this.maxWriteBytes, sizeRule: 'json-utf8-v1' } : {}
  }

  writeEntries: SharedSyncLog['writeEntries'] = async (entries, options) => {
    if (measureWriteBytes(entries, options) > this.maxWriteBytes) {
      this.refusedWrites += 1
      throw new SharedSyncLogRefusalError('REQUEST_TOO_LARGE', `the write is larger than ${this.maxWriteBytes} bytes (simulated limit)`)
    }
    const refused = entries.flatMap((entry) => {
      const forever = entry.data.includes(REFUSE_FOREVER)
      if (!forever && !(entry.data.includes(REFUSE_UNTIL_UPGRADE) && !this.upgraded)) return []
      this.refusedEntries.add(entryKey(options.deviceId, entry.createdOn))
      return [{ createdOn: entry.createdOn, reason: 'INVALID_ENTRY', message: forever ? 'refused for good (simulated)' : 'refused until the server is upgraded (simulated)' }]
    })
    if (refused.length) {
      this.refusedWrites += 1
      throw new SharedSyncLogRefusalError('ENTRIES_REFUSED', `${refused.length} entries refused (simulated)`, { refused })
    }
    return this.inner.writeEntries(entries, options)
  }
}

export function entryKey(deviceId: DeviceId | unknown, createdOn: number): string {
  return JSON.stringify([deviceId, createdOn])
}
