import { isDeepStrictEqual } from 'node:util'
import type { SyncResult } from '@storex-sync/sync-orchestrator'
import { createDevice, startSyncServer, type Device } from './setup'

export const noteCollections = {
  note: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      body: { type: 'text' as const, optional: true },
      pinned: { type: 'boolean' as const, optional: true },
    },
  },
}

export interface DevicesReport {
  ok: boolean
  devices: string[]
  notes: Array<Record<string, unknown>>
}

export function describeSync(name: string, result: SyncResult): string {
  const { received, sent, integrated } = result
  return (
    `${name.padEnd(7)} synced: sent ${sent.entries}, received ${received.entries}, ` +
    `applied ${integrated.entries} entries to ${integrated.objects} objects (${result.durationMs} ms)`
  )
}

/**
 * Alice's phone, laptop and tablet (each with its own IndexedDB database)
 * edit notes offline and sync through the sync server. Returns whether all
 * three ended with the same notes.
 */
export async function runDevicesExample(print: (line: string) => void = console.log): Promise<DevicesReport> {
  const server = await startSyncServer(['alice'])
  // One clock for the story, so "later" is unambiguous; a real app uses Date.now.
  const clock = { now: Date.UTC(2024, 4, 4, 9, 0) }
  const time = () => new Date(clock.now).toISOString().slice(11, 16)
  const later = (minutes: number) => (clock.now += minutes * 60_000)
  const devices: Device[] = []
  try {
    print(`Sync server on ${server.url} (shared log in SQLite). Alice has three devices, each with its own IndexedDB database.`)
    for (const name of ['phone', 'laptop', 'tablet']) {
      devices.push(
        await createDevice({ name, collections: noteCollections, syncedCollections: ['note'], server, userId: 'alice', getNow: () => clock.now }),
      )
    }
    const [phone, laptop, tablet] = devices as [Device, Device, Device]
    const notesOf = (device: Device) => device.storageManager.collection('note')
    const sync = async (device: Device) => print(`  ${describeSync(device.name, await device.sync())}`)
    const step = (text: string) => print(`\n[${time()}] ${text}`)
    const show = async (device: Device) => {
      const notes = (await device.contents())['note']!
      print(`  ${device.name} has: ${notes.map((note) => JSON.stringify(note['title'])).join(', ') || 'no notes'}`)
    }

    step('The phone writes two notes and syncs; the laptop and the tablet sync and get them.')
    const { object: groceries } = await notesOf(phone).createObject({ title: 'Groceries', body: 'milk' })
    const { object: bank } = await notesOf(phone).createObject({ title: 'Call the bank', body: 'about the card' })
    await sync(phone)
    await sync(laptop)
    await sync(tablet)
    await show(tablet)

    later(5)
    step('All three go offline and edit the grocery note:')
    print('  phone (09:05): body -> "milk, eggs"')
    await notesOf(phone).updateObjects({ id: groceries.id }, { body: 'milk, eggs' })
    later(1)
    print('  laptop (09:06): title -> "Groceries (Saturday)", body -> "milk, eggs, bread"')
    await notesOf(laptop).updateObjects({ id: groceries.id }, { title: 'Groceries (Saturday)', body: 'milk, eggs, bread' })
    later(1)
    print('  tablet (09:07): pinned -> true')
    await notesOf(tablet).updateObjects({ id: groceries.id }, { pinned: true })
    later(1)
    print('  tablet (09:08): deletes "Call the bank", while the phone (09:09) still edits it')
    await notesOf(tablet).deleteObjects({ id: bank.id })
    later(1)
    await notesOf(phone).updateObjects({ id: bank.id }, { body: 'about the card, before Friday' })

    later(5)
    step('Back online, each syncs (and the first two once more to get what came after them).')
    for (const device of [phone, laptop, tablet, phone, laptop]) await sync(device)

    step('How the conflicts resolved (the same on every device):')
    print('  - per field, the last writer wins: the title and body from the laptop (09:06 is after the phone\'s 09:05),')
    print('    pinned from the tablet; the edits merge instead of one device overwriting the whole note;')
    print('  - a delete wins over edits of the same note: "Call the bank" is gone although the phone edited it later.')

    step('Result:')
    const contents = await Promise.all(devices.map((device) => device.contents()))
    const equal = contents.every((other) => isDeepStrictEqual(other, contents[0]))
    for (const note of contents[0]!['note']!) print(`  note ${JSON.stringify(note)}`)
    print(
      equal
        ? `\nAll ${devices.length} devices hold identical notes.`
        : '\nThe devices differ: this is a bug, please report it.',
    )
    if (!equal) {
      devices.forEach((device, index) => print(`  ${device.name}: ${JSON.stringify(contents[index])}`))
    }
    return { ok: equal, devices: devices.map((device) => device.name), notes: contents[0]!['note']! }
  } finally {
    await Promise.all(devices.map((device) => device.close()))
    await server.close()
  }
}
