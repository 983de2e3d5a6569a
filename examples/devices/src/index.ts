export { runDevicesExample, noteCollections, describeSync } from './devices'
export type { DevicesReport } from './devices'
export { createDevice, startSyncServer } from './setup'
export type { Device } from './setup'
