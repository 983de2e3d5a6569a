import { checkOutgoingQuarantines } from '../invariants/outgoing-quarantine'
import { discardOutgoing, retryOutgoing } from '../outgoing'
import type { SimulationWorld } from './world'

/** Every device syncs twice, round-robin and without faults: afterwards everything has reached everyone. */
async function syncRounds(world: SimulationWorld, label: string): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    for (const device of world.devices) {
      world.time.advance(100)
      const outcome = await device.sync({ kind: 'none' })
      world.trace?.(`${label} ${round + 1}: ${device.name} ${outcome}`)
    }
  }
}

/**
 * After the schedule: every device on the newest app version, then syncs
 * until everything has reached everyone. With limits (issue 16), the outgoing
 * quarantines must be exactly what had to be (invariant 6); after a server
 * upgrade and a retry only entries refused for good may be left, and
 * discarding them converges. Stops early once something is broken.
 */
export async function runFinalRound(world: SimulationWorld): Promise<void> {
  for (const device of world.devices) {
    if (!device.olderApp) continue
    const outcome = await device.updateApp() // not inside trace?.(): that skips its argument without a trace
    world.trace?.(`final round: ${device.name} ${outcome}`)
  }
  if (!world.violations.length) await syncRounds(world, 'final round')
  const { limited, violations } = world
  if (violations.length || !limited) return
  violations.push(...(await checkOutgoingQuarantines(world.devices, limited, false)))
  if (violations.length) return
  limited.upgrade()
  for (const device of world.devices) {
    const outcome = await retryOutgoing(device)
    world.trace?.(`final: ${device.name} ${outcome}`)
  }
  await syncRounds(world, 'final after upgrade')
  violations.push(...(await checkOutgoingQuarantines(world.devices, limited, true)))
  for (const device of world.devices) {
    const outcome = await discardOutgoing(device, world.reconciler)
    world.trace?.(`final: ${device.name} ${outcome}`)
  }
}
