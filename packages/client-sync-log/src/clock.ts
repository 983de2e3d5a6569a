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

  /** Moves the clock past a value seen elsewhere (a received entry's createdOn). */
  observe(clockValue: number): void {
    if (Number.isFinite(clockValue) && clockValue > this.latest) {
      this.latest = clockValue
    }
  }

  /** Issues the next value for a change made at `wallNow` (ms). */
  next(wallNow: number): number {
    const physical = Math.floor(wallNow) * HLC_TICKS_PER_MS
    this.latest = Math.max(physical, this.latest + 1)
    return this.latest
  }
}
