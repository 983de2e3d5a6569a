import type { OperationBatch } from '@worldbrain/storex'
import { maxAcceptedClockValue } from '../entry-check'
import type { DeviceId } from '../types'
import { CLIENT_SYNC_LOG_STATE_COLLECTION, type StoredStateRow } from './schema'

export const CLOCK_ROW = 'clock'
export const DEVICE_ROW = 'device'
export const BASELINE_COUNTER_ROW = 'baseline-counter'
const STATE_ROWS = [CLOCK_ROW, DEVICE_ROW, BASELINE_COUNTER_ROW]

/** The device as its state rows tell it. */
export interface DeviceIdentity {
  deviceId: DeviceId
  /** False while the id was made on the device and the shared log has not seen it yet. */
  registered: boolean
}

export interface DeviceStateSnapshot {
  clock: number
  device: DeviceIdentity | null
  baselineCounter: number
  /** Which rows exist (an update step needs the row, a create step needs it absent). */
  rows: Set<string>
}

export interface DeviceStateChanges {
  clock?: number
  device?: DeviceIdentity
  baselineCounter?: number
}

export interface DeviceStateReader {
  findState(ids: string[]): Promise<StoredStateRow[]>
  /** The greatest createdOn in the log up to `bound` (a log from before the clock was stored). */
  latestLoggedClockValue(bound: number): Promise<number>
}

export async function readDeviceState(reader: DeviceStateReader, wallNow: number | undefined): Promise<DeviceStateSnapshot> {
  const rows = new Map((await reader.findState(STATE_ROWS)).map((row) => [row.id, row]))
  const device = rows.get(DEVICE_ROW)?.data as DeviceIdentity | undefined
  const clockRow = rows.get(CLOCK_ROW)
  return {
    // A log from before the clock was stored starts from its greatest createdOn a clock can have
    // reached (values far in the future, from a broken clock, are left behind).
    clock: clockRow ? Number(clockRow.value) : await reader.latestLoggedClockValue(maxAcceptedClockValue(wallNow ?? Date.now())),
    device: device && (typeof device.deviceId === 'string' || typeof device.deviceId === 'number') ? { deviceId: device.deviceId, registered: !!device.registered } : null,
    baselineCounter: Number(rows.get(BASELINE_COUNTER_ROW)?.value ?? 0),
    rows: new Set(rows.keys()),
  }
}

export function sameDeviceState(a: DeviceStateSnapshot, b: DeviceStateSnapshot): boolean {
  return (
    a.clock === b.clock &&
    a.baselineCounter === b.baselineCounter &&
    JSON.stringify(a.device) === JSON.stringify(b.device) &&
    [...a.rows].sort().join() === [...b.rows].sort().join()
  )
}

/** Steps that write the changed rows (create when absent, update when present). */
export function deviceStateSteps(before: DeviceStateSnapshot, changes: DeviceStateChanges): OperationBatch {
  const steps: OperationBatch = []
  const put = (id: string, fields: Omit<StoredStateRow, 'id'>) => {
    steps.push(
      before.rows.has(id)
        ? { operation: 'updateObjects', collection: CLIENT_SYNC_LOG_STATE_COLLECTION, where: { id }, updates: fields }
        : { operation: 'createObject', collection: CLIENT_SYNC_LOG_STATE_COLLECTION, args: { id, ...fields } },
    )
  }
  if (changes.clock !== undefined && (changes.clock > before.clock || !before.rows.has(CLOCK_ROW))) {
    put(CLOCK_ROW, { value: Math.max(changes.clock, before.clock) })
  }
  if (changes.device && JSON.stringify(changes.device) !== JSON.stringify(before.device)) {
    put(DEVICE_ROW, { data: changes.device })
  }
  if (changes.baselineCounter !== undefined && changes.baselineCounter !== before.baselineCounter) {
    put(BASELINE_COUNTER_ROW, { value: changes.baselineCounter })
  }
  return steps
}

/**
 * Who writes: the given id, or the stored one, or (for a device's first write) a provisional id
 * made here; `device` is the identity to store when it is new.
 */
export function writingDevice(state: DeviceStateSnapshot, given: DeviceId | undefined): { deviceId: DeviceId; device: DeviceIdentity | null } {
  if (given !== undefined) {
    return { deviceId: given, device: null }
  }
  const device = state.device ?? { deviceId: newProvisionalDeviceId(), registered: false }
  return { deviceId: device.deviceId, device }
}

/** An id made on the device before it reached the shared log; replaced by the registered one at the first sync. */
function newProvisionalDeviceId(): string {
  const random = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  return `provisional-${random}`
}
