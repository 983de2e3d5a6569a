import { discardOutgoing, refusedWrite, retryOutgoing } from '../outgoing'
import type { Step } from '../schedule'
import { USER, registryOf } from './app'
import type { SimulatedDevice } from './device'
import { HOUR_MS } from './faults'
import { pickCyclic } from './pick'
import type { SimulationWorld } from './world'

type DeviceStep = Extract<Step, { device: number }>

/** Runs one step of a schedule; returns what happened, for the trace. */
export async function runStep(world: SimulationWorld, step: Step, index: number): Promise<string> {
  if ('device' in step) return runDeviceStep(world.deviceAt(step.device), step)
  switch (step.op) {
    case 'tick':
      world.time.advance(step.ms)
      return `time +${step.ms} ms`
    case 'badEntry':
      return world.rogue.write(step.variant, index, world.time.now, pickCyclic(world.app.synced, 0), world.newestRegistry())
    case 'serverUpgrade':
      world.limited?.upgrade()
      return world.limited ? 'the server is upgraded' : 'no limits in this schedule'
    case 'compact':
      return compact(world, step.retention)
  }
}

async function runDeviceStep(device: SimulatedDevice, step: DeviceStep): Promise<string> {
  const { world } = device
  switch (step.op) {
    case 'clockJump':
      device.clock.jump(step.ms)
      return `clock jumps ${step.ms} ms (wall ${new Date(device.wallClock()).toISOString()})`
    case 'sync':
      return device.sync(step.fault, step.tab)
    case 'syncAllTabs': {
      const outcomes = await Promise.all(device.tabs.map((_, tab) => device.sync({ kind: 'none' }, tab)))
      return outcomes.map((text, tab) => `tab ${tab}: ${text}`).join('; ')
    }
    case 'appUpdate':
      return device.updateApp()
    case 'refusedWrite': {
      const collection = pickCyclic(world.app.synced, step.collection)
      const remember = (collection: string, pk: unknown) => world.remember(collection, pk)
      return world.limited ? refusedWrite(device, registryOf(device.storage), collection, step, world.limited, remember) : 'no limits in this schedule'
    }
    case 'retryOutgoing':
      return retryOutgoing(device)
    case 'discardOutgoing':
      return discardOutgoing(device, world.reconciler)
    case 'cleanup':
      return device.cleanUpLog()
    default:
      return device.write(step)
  }
}

/** The server compacts the log through its replica, with a retention of 0, 1 hour or 1 day. */
async function compact(world: SimulationWorld, retention: number): Promise<string> {
  const { served, stats } = world
  if (!world.cloud || !served.compact) return 'no replica in this schedule'
  const retentionMs = pickCyclic([0, HOUR_MS, 24 * HOUR_MS], retention)
  const compacted = await served.compact({ userId: USER, retentionMs, now: world.time.now })
  stats.compactions.runs += 1
  stats.compactions.retiredDevices += compacted.retiredDevices.length
  stats.compactions.deletedEntries += compacted.deletedEntries
  const retired = compacted.retiredDevices.map((id) => world.deviceName(id))
  return `compacted (retention ${retentionMs} ms): deleted ${compacted.deletedEntries}, ${compacted.remainingEntries} left, retired ${retired.join(', ') || 'none'}`
}
