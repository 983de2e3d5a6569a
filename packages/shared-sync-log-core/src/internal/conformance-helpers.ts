import { expect } from 'vitest'
import type { DeviceId, SharedSyncLog, SharedSyncLogEntry, SharedSyncLogEntryInput, SharedSyncLogUpdate, UserId } from '../types'

/** What every conformance case gets: a fresh log, and the two users the set-up named. */
export interface ConformanceContext {
  log: SharedSyncLog
  deviceIdType?: 'int' | 'string'
  user: UserId
  otherUser: UserId
}

export type WithLog = (test: (context: ConformanceContext) => Promise<void>) => () => Promise<void>

export function entry(createdOn: number, data: string): SharedSyncLogEntryInput {
  return { createdOn, data }
}

export function data(entries: SharedSyncLogEntry[]): string[] {
  return entries.map((e) => e.data)
}

/** `count` items of `T` as a tuple, so destructuring `const [a, b] = ...` gives defined values. */
type Tuple<T, Count extends number, Items extends T[] = []> = Items['length'] extends Count ? Items : Tuple<T, Count, [...Items, T]>

export async function devices<Count extends number>(log: SharedSyncLog, userId: UserId, count: Count): Promise<Tuple<DeviceId, Count>> {
  const ids: DeviceId[] = []
  for (let i = 0; i < count; i += 1) {
    ids.push(await log.createDeviceId({ userId }))
  }
  return ids as Tuple<DeviceId, Count>
}

/** A device id of the same type as `known` that no device has. */
export function unknownDeviceId(known: DeviceId): DeviceId {
  return typeof known === 'number' ? known + 1_000_000 : `${known}-missing`
}

export async function markAll(log: SharedSyncLog, userId: UserId, deviceId: DeviceId): Promise<void> {
  await readAll(log, userId, deviceId)
}

/** Reads and marks as seen until nothing is left; returns everything read. */
export async function readAll(log: SharedSyncLog, userId: UserId, deviceId: DeviceId, batchSize?: number): Promise<SharedSyncLogEntry[]> {
  const all: SharedSyncLogEntry[] = []
  for (let round = 0; round < 10_000; round += 1) {
    const update: SharedSyncLogUpdate = await log.getUnsyncedEntries({ userId, deviceId, batchSize })
    all.push(...update.entries)
    await log.markAsSeen(update, { userId, deviceId })
    if (!update.hasMore) {
      return all
    }
    if (update.entries.length === 0) {
      throw new Error('getUnsyncedEntries() returned hasMore: true with an empty page')
    }
  }
  throw new Error('getUnsyncedEntries() kept returning hasMore: true')
}

export async function expectUnknownDevice(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught as Error & { code?: string },
  )
  expect(error, 'expected the call to throw UNKNOWN_DEVICE').not.toBeNull()
  expect(error!.code).toBe('UNKNOWN_DEVICE')
  return error!
}

export async function collectErrors(log: SharedSyncLog, userId: UserId, deviceId: DeviceId, memo: unknown) {
  return [
    await expectUnknownDevice(log.writeEntries([entry(99, 'intruder')], { userId, deviceId })),
    await expectUnknownDevice(log.getUnsyncedEntries({ userId, deviceId })),
    await expectUnknownDevice(log.markAsSeen({ memo }, { userId, deviceId })),
  ]
}
