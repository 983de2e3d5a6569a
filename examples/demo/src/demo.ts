import { isDeepStrictEqual } from 'node:util'
import type { SyncResult } from '@storex-sync/sync-orchestrator'
import { createDevice, createSharedSyncLog, type Device } from './setup'

const noteCollections = {
  note: {
    version: new Date('2024-01-01'),
    fields: {
      title: { type: 'string' as const },
      body: { type: 'text' as const, optional: true },
      done: { type: 'boolean' as const },
      updatedWhen: { type: 'datetime' as const, optional: true },
    },
  },
}

const catalogueCollections = {
  product: {
    version: new Date('2024-01-01'),
    fields: {
      sku: { type: 'string' as const },
      name: { type: 'string' as const },
      priceCents: { type: 'int' as const },
      inStock: { type: 'boolean' as const },
    },
  },
}

export interface DemoReport {
  ok: boolean
  groups: Array<{ name: string; devices: string[]; equal: boolean; contents: Record<string, unknown[]> }>
}

function describeSync(device: Device, result: SyncResult) {
  const { received, sent, integrated } = result
  return `${device.name.padEnd(8)} sync: sent ${sent.entries}, received ${received.entries}${received.duplicates ? ` (${received.duplicates} duplicates)` : ''}, integrated ${integrated.entries} entries into ${integrated.objects} objects with ${integrated.operations} operations`
}

export async function runDemo(print: (line: string) => void = console.log): Promise<DemoReport> {
  const sharedSyncLog = await createSharedSyncLog()
  print('A shared sync log on SQLite; two IndexedDB devices of one person; two shops with SQLite databases sharing a catalogue.\n')

  const phone = await createDevice({ name: 'phone', kind: 'indexeddb', collections: noteCollections, syncedCollections: ['note'], sharedSyncLog, userId: 'alice' })
  const laptop = await createDevice({ name: 'laptop', kind: 'indexeddb', collections: noteCollections, syncedCollections: ['note'], sharedSyncLog, userId: 'alice' })
  const north = await createDevice({ name: 'north', kind: 'sqlite', collections: catalogueCollections, syncedCollections: ['product'], sharedSyncLog, userId: 'acme-catalogue' })
  const south = await createDevice({ name: 'south', kind: 'sqlite', collections: catalogueCollections, syncedCollections: ['product'], sharedSyncLog, userId: 'acme-catalogue' })

  const sync = async (device: Device) => print(`  ${describeSync(device, await device.sync())}`)
  const step = (text: string) => print(`\n${text}`)

  step('1. The phone writes two notes offline and syncs; the laptop syncs and gets them.')
  const notes = phone.storageManager.collection('note')
  const { object: groceries } = await notes.createObject({ title: 'Groceries', body: 'milk', done: false, updatedWhen: new Date() })
  await notes.createObject({ title: 'Call the bank', done: false })
  await sync(phone)
  await sync(laptop)

  step('2. Both edit the grocery note while offline: the phone the body, the laptop the title and done flag. Per-field last writer wins.')
  await notes.updateObjects({ id: groceries.id }, { body: 'milk, eggs' })
  await laptop.storageManager.collection('note').updateObjects({ id: groceries.id }, { title: 'Groceries (Sat)', done: true })
  await sync(phone)
  await sync(laptop)
  await sync(phone)

  step('3. The laptop deletes finished notes by query.')
  await laptop.storageManager.collection('note').deleteObjects({ done: true })
  await sync(laptop)
  await sync(phone)

  step('4. The north shop adds products; the south shop receives them.')
  const northProducts = north.storageManager.collection('product')
  const { object: kettle } = await northProducts.createObject({ sku: 'K-100', name: 'Kettle', priceCents: 2999, inStock: true })
  const { object: toaster } = await northProducts.createObject({ sku: 'T-200', name: 'Toaster', priceCents: 3999, inStock: true })
  await sync(north)
  await sync(south)

  step('5. South changes the kettle price while north deletes the toaster and south edits it: the delete wins.')
  const southProducts = south.storageManager.collection('product')
  await southProducts.updateObjects({ id: kettle.id }, { priceCents: 2499 })
  await northProducts.deleteObjects({ id: toaster.id })
  await southProducts.updateObjects({ id: toaster.id }, { inStock: false })
  await sync(north)
  await sync(south)
  await sync(north)

  step('Result:')
  const groups: DemoReport['groups'] = []
  for (const [name, devices] of [['alice', [phone, laptop]], ['acme-catalogue', [north, south]]] as const) {
    const contents = await Promise.all(devices.map((device) => device.contents()))
    const equal = contents.every((other) => isDeepStrictEqual(other, contents[0]))
    groups.push({ name, devices: devices.map((device) => device.name), equal, contents: contents[0]! })
    print(`  ${name}: ${devices.map((device) => device.name).join(' and ')} ${equal ? 'hold identical data' : 'DIFFER'}:`)
    for (const [collection, objects] of Object.entries(contents[0]!)) {
      for (const object of objects) print(`    ${collection} ${JSON.stringify(object)}`)
    }
  }
  const ok = groups.every((group) => group.equal)
  print(ok ? '\nAll databases are equal.' : '\nSome databases differ: this is a bug, please report it.')
  return { ok, groups }
}
