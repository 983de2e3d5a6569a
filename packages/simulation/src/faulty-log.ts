import type { DeviceId, SharedSyncLog, SharedSyncLogEntry, SharedSyncLogUpdate } from '@storex-sync/shared-sync-log-core'

/** A fault the wrapper injects; `call` counts the shared-log calls of the current sync, from 0. */
export type SharedLogFault =
  /** That call fails before doing any work. */
  | { kind: 'failBefore'; call: number }
  /** That call does its work, then fails (the response is lost). */
  | { kind: 'failAfter'; call: number }
  /** From that call on, every read delivers its entries twice and the previous page again. */
  | { kind: 'duplicate'; call: number }

/** What an injected fault throws; anything else a sync throws is a bug. */
export class SimulatedFault extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SimulatedFault'
  }
}

type Method = 'writeEntries' | 'getUnsyncedEntries' | 'markAsSeen' | 'getSnapshotPage'

export interface FaultySharedSyncLogHooks {
  /**
   * Called when a device moves its cursor past `entries` (the page its memo
   * came with), before the move happens: the place to check that the device
   * stored them.
   */
  beforeMarkAsSeen?: (deviceId: DeviceId, entries: SharedSyncLogEntry[]) => Promise<void> | void
}

/**
 * A SharedSyncLog that breaks on purpose: it forwards to a real one and
 * injects the fault it is armed with. The simulation's only test double.
 */
export class FaultySharedSyncLog implements SharedSyncLog {
  private fault: SharedLogFault | null = null
  private calls = 0
  private readonly lastPage = new Map<string, { memoKey: string; entries: SharedSyncLogEntry[] }>()
  private readonly previousPage = new Map<string, SharedSyncLogEntry[]>()
  /** How many faults fired since creation. */
  fired = 0

  constructor(
    readonly inner: SharedSyncLog,
    private readonly hooks: FaultySharedSyncLogHooks = {},
  ) {
    if (inner.getSnapshotPage) {
      // Snapshot pages fail like any other call: a bootstrap is interrupted and tried again.
      this.getSnapshotPage = (options) => this.run('getSnapshotPage', () => inner.getSnapshotPage!(options))
    }
  }

  getSnapshotPage?: SharedSyncLog['getSnapshotPage']

  /** Arms one fault for the next sync (or none), and restarts the call count. */
  arm(fault: SharedLogFault | null): void {
    this.fault = fault
    this.calls = 0
  }

  private async run<T>(method: Method, work: () => Promise<T>, before?: () => Promise<void>): Promise<T> {
    const call = this.calls++
    const fault = this.fault
    if (fault && fault.call === call && fault.kind === 'failBefore') {
      this.fired += 1
      throw new SimulatedFault(`${method} failed before doing its work (simulated)`)
    }
    await before?.()
    const result = await work()
    if (fault && fault.call === call && fault.kind === 'failAfter') {
      this.fired += 1
      throw new SimulatedFault(`${method} did its work but the response was lost (simulated)`)
    }
    return result
  }

  createDeviceId: SharedSyncLog['createDeviceId'] = (options) => this.inner.createDeviceId(options)
  getDeviceInfo: SharedSyncLog['getDeviceInfo'] = (options) => this.inner.getDeviceInfo(options)

  writeEntries: SharedSyncLog['writeEntries'] = (entries, options) =>
    this.run('writeEntries', () => this.inner.writeEntries(entries, options))

  getUnsyncedEntries: SharedSyncLog['getUnsyncedEntries'] = (options) =>
    this.run('getUnsyncedEntries', async (): Promise<SharedSyncLogUpdate> => {
      const call = this.calls - 1
      const key = String(options.deviceId)
      const update = await this.inner.getUnsyncedEntries(options)
      const previous = this.previousPage.get(key) ?? []
      this.lastPage.set(key, { memoKey: JSON.stringify(update.memo), entries: update.entries })
      if (update.entries.length) {
        this.previousPage.set(key, update.entries)
      }
      const fault = this.fault
      if (fault?.kind === 'duplicate' && call >= fault.call) {
        this.fired += 1
        const entries = [...previous, ...update.entries.flatMap((entry, index) => (index % 2 ? [entry] : [entry, entry]))]
        return { ...update, entries }
      }
      return update
    })

  markAsSeen: SharedSyncLog['markAsSeen'] = (update, options) =>
    this.run(
      'markAsSeen',
      () => this.inner.markAsSeen(update, options),
      async () => {
        const page = this.lastPage.get(String(options.deviceId))
        if (page && page.memoKey === JSON.stringify(update?.memo)) {
          await this.hooks.beforeMarkAsSeen?.(options.deviceId, page.entries)
        }
      },
    )
}
