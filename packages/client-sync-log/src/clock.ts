import { ClientSyncLogError } from './errors'

/**
 * How many logical ticks fit in one wall-clock millisecond. A clock value is
 * `wallMs * HLC_TICKS_PER_MS + counter`: one number that sorts like the
 * (wall time, counter) pair of a hybrid logical clock and stays a safe
 * integer for wall times up to the year 2255.
 */
export const HLC_TICKS_PER_MS = 1000

/** The wall-clock milliseconds a clock value was issued at (or moved to). */
export function hlcWallTime(clockValue: number): number {
  return Math.floor(clockValue / HLC_TICKS_PER_MS)
}

/**
 * A hybrid logical clock: each value it issues is greater than every value it
 * issued or observed before, and never behind the wall clock. Devices observe
 * the clocks of entries they receive, so a change made after seeing another
 * change sorts after it even when this device's wall clock is behind.
 */
export class HybridLogicalClock {
  private latest: number

  constructor(options: { latest?: number } = {}) {
    this.latest = options.latest ?? 0
  }

  /** The greatest value issued or observed so far (0 for a new clock). */
  get current(): number {
    return this.latest
  }

  /**
   * Moves the clock past a value seen elsewhere (a received entry's
   * createdOn). Values that are not safe integers are ignored: received
   * entries are checked (and quarantined) before the clock sees them.
   */
  observe(clockValue: number): void {
    if (Number.isSafeInteger(clockValue) && clockValue > this.latest) {
      this.latest = clockValue
    }
  }

  /**
   * Issues the next value for a change made at `wallNow` (ms). Never issues a
   * value twice: when the next value would not be a safe integer greater
   * than the last one, it throws instead.
   */
  next(wallNow: number): number {
    if (!Number.isFinite(wallNow)) {
      throw new ClientSyncLogError('INVALID_OPTION', `the wall clock read ${String(wallNow)}; getNow() must return milliseconds since 1970.`)
    }
    const physical = Math.floor(wallNow) * HLC_TICKS_PER_MS
    const next = Math.max(physical, this.latest + 1)
    if (!Number.isSafeInteger(next) || next <= this.latest) {
      throw new ClientSyncLogError(
        'CLOCK_EXHAUSTED',
        `the clock cannot issue a value after ${this.latest} (it would repeat one, losing a log entry). Some value this device stored or observed lies ` +
          `far in the future; nothing was written. Remove the log entries with createdOn above ${physical + HLC_TICKS_PER_MS * 86_400_000} or reset the device's sync state.`,
      )
    }
    this.latest = next
    return next
  }
}

/** The greatest createdOn of `entries`, or `start` when it is greater (the clock value to store after them). */
export function latestClockValue(entries: Iterable<{ createdOn: number }>, start: number): number {
  let latest = start
  for (const entry of entries) {
    latest = Math.max(latest, entry.createdOn)
  }
  return latest
}
