import {
  MemorySharedSyncLog,
  SharedSyncLogRefusalError,
  measureWriteBytes,
  type SharedSyncLog,
  type SharedSyncLogLimits,
} from '@storex-sync/shared-sync-log-core'

/**
 * A real in-memory log behind a gate that refuses what a server would:
 * writes over a byte limit (published or not), and entries a rule refuses for
 * good (named in the error). Also fails on demand with an error that may pass
 * later. Counts the writes that reached it.
 */
export class RefusingSharedSyncLog implements SharedSyncLog {
  readonly inner = new MemorySharedSyncLog()
  /** Enforced on every write. */
  maxWriteBytes: number | null = null
  /** Whether getLimits() publishes maxWriteBytes (false: an older server that only answers 413). */
  publishLimits = true
  /** Entries whose data this returns a message for are refused for good. */
  refuse: (data: string) => string | null = () => null
  /** Thrown by the next write, once (e.g. a 503). */
  failNextWrite: Error | null = null
  /** Thrown by getDeviceInfo and getServerTime while set (e.g. the network is down). */
  failReads: Error | null = null
  /** Added to Date.now() by getServerTime(). */
  serverTimeOffsetMs = 0
  writes = 0
  refusedWrites = 0

  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = async (options) => {
    if (this.failReads) throw this.failReads
    return this.inner.getDeviceInfo(options)
  }

  async getServerTime(): Promise<number> {
    if (this.failReads) throw this.failReads
    return Date.now() + this.serverTimeOffsetMs
  }
  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = (options) => this.inner.getUnsyncedEntries(options)
  markAsSeen: SharedSyncLog['markAsSeen'] = (update, options) => this.inner.markAsSeen(update, options)

  async getLimits(): Promise<SharedSyncLogLimits> {
    return this.publishLimits && this.maxWriteBytes !== null ? { maxWriteBytes: this.maxWriteBytes, sizeRule: 'json-utf8-v1' } : {}
  }

  writeEntries: SharedSyncLog['writeEntries'] = async (entries, options) => {
    this.writes += 1
    if (this.failNextWrite) {
      const error = this.failNextWrite
      this.failNextWrite = null
      throw error
    }
    if (this.maxWriteBytes !== null && measureWriteBytes(entries, options) > this.maxWriteBytes) {
      this.refusedWrites += 1
      throw new SharedSyncLogRefusalError('REQUEST_TOO_LARGE', `body larger than ${this.maxWriteBytes} bytes`)
    }
    const refused = entries.flatMap((entry) => {
      const message = this.refuse(entry.data)
      return message ? [{ createdOn: entry.createdOn, reason: 'INVALID_ENTRY', message }] : []
    })
    if (refused.length) {
      this.refusedWrites += 1
      throw new SharedSyncLogRefusalError('ENTRIES_REFUSED', `${refused.length} entries refused`, { refused })
    }
    return this.inner.writeEntries(entries, options)
  }
}
