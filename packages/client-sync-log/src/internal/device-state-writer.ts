import type { OperationBatch } from '@worldbrain/storex'
import type { HybridLogicalClock } from '../clock'
import { withDatabaseLock } from './database-lock'
import {
  deviceStateSteps,
  readDeviceState,
  sameDeviceState,
  type DeviceStateChanges,
  type DeviceStateReader,
  type DeviceStateSnapshot,
} from './device-state'
import type { WriteQueue } from './write-queue'

/** How often a write is tried again when another instance wrote the clock at the same moment. */
const CLOCK_ATTEMPTS = 5

/**
 * Writes `steps` with the state rows `changes` asks for, in one batch: through `execute` when
 * given (it must pass the same array on), else straight to the backend.
 */
export type DeviceStateWrite = (
  steps: OperationBatch,
  changes: DeviceStateChanges,
  execute?: (batch: OperationBatch) => Promise<unknown>,
) => Promise<unknown>

export interface DeviceStateWriterOptions {
  /** The cross-tab lock every instance over the database takes. */
  lockName: string
  writeQueue: WriteQueue
  reader: DeviceStateReader
  /** This instance's view of the clock; it observes the stored clock at every read. */
  clock: HybridLogicalClock
  /** The real backend: batches admitted by the write queue go straight to it. */
  backend: { operation(name: string, ...args: unknown[]): Promise<unknown> }
}

/** The one way this device's state (clock, device id, baseline counter) changes. */
export class DeviceStateWriter {
  constructor(private readonly options: DeviceStateWriterOptions) {}

  read(wallNow: number | undefined): Promise<DeviceStateSnapshot> {
    return readDeviceState(this.options.reader, wallNow)
  }

  /**
   * Runs `work` while it is the only writer of this device's state: across
   * tabs and workers (Web Locks, or this realm's instances without them) and
   * within this storage manager (its write queue). `work` gets the state as
   * stored and a way to write a batch that changes it; when that batch fails
   * because another writer (a process without a shared lock) changed the
   * state at the same moment, it runs again on the new state, so a clock
   * value is never issued twice and nothing is overwritten.
   */
  run<T>(wallNow: number | undefined, work: (state: DeviceStateSnapshot, write: DeviceStateWrite) => Promise<T>): Promise<T> {
    const { lockName, writeQueue, clock, backend } = this.options
    return withDatabaseLock(lockName, () =>
      writeQueue.run(async (admit) => {
        for (let attempt = 1; ; attempt += 1) {
          const state = await this.read(wallNow)
          clock.observe(state.clock)
          const write: DeviceStateWrite = (steps, changes, execute) => {
            const batch = [...steps, ...deviceStateSteps(state, changes)]
            return execute ? execute(admit(batch)) : backend.operation('executeBatch', admit(batch))
          }
          try {
            return await work(state, write)
          } catch (error) {
            const changedMeanwhile = !sameDeviceState(state, await this.read(wallNow))
            if (!changedMeanwhile || attempt >= CLOCK_ATTEMPTS) {
              throw error
            }
          }
        }
      }),
    )
  }
}
