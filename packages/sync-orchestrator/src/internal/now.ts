import type { CommonSyncOptions } from '../types'

/** The wall clock (ms) of a sync: its `now` option, or Date.now() for '$now' and undefined. */
export function wallNow(now: CommonSyncOptions['now']): number {
  return typeof now === 'number' ? now : Date.now()
}
