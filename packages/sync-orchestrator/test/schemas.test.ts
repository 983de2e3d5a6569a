import { afterEach, describe, expect, it } from 'vitest'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { backendPairs, createTestDevice, type TestDevice, type TestSchema } from './devices'
import type { BackendKind } from '@storex-sync/test-backends'

const USER = 'user-1'

/** A user with child email objects (nested creates), and memberships keyed by a compound pk. */
const schema: TestSchema = {
  synced: ['user', 'email', 'membership'],
  ownPks: ['membership'],
  collections: {
    user: {
      version: new Date('2024-01-01'),
      fields: { displayName: { type: 'string' } },
    },
    email: {
      version: new Date('2024-01-01'),
      fields: { address: { type: 'string' } },
      relationships: [{ childOf: 'user' }],
    },
    membership: {
      version: new Date('2024-01-01'),
      fields: { groupId: { type: 'string' }, memberId: { type: 'string' }, role: { type: 'string' } },
      indices: [{ field: ['groupId', 'memberId'], pk: true }],
    },
  },
}

const opened: TestDevice[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((device) => device.storage.cleanup()))
})

async function twoDevices(first: BackendKind, second: BackendKind) {
  const sharedSyncLog = new MemorySharedSyncLog()
  const devices = []
  for (const [index, kind] of [first, second].entries()) {
    const device = await createTestDevice({ name: `d${index}`, kind, sharedSyncLog, userId: USER, schema })
    opened.push(device)
    devices.push(device)
  }
  return devices as [TestDevice, TestDevice]
}

async function syncBoth(a: TestDevice, b: TestDevice) {
  await a.sync()
  await b.sync()
  await a.sync()
}

describe.each(backendPairs)('doSync with nested creates and compound pks ($label)', ({ first, second }) => {
  it('syncs a nested create as the parent and its children, linked', async () => {
    const [a, b] = await twoDevices(first, second)
    const { object: joe } = await a.storageManager
      .collection('user')
      .createObject({ displayName: 'Joe', emails: [{ address: 'joe@example.com' }, { address: 'joe@work.example' }] })
    await syncBoth(a, b)
    const emails = (await b.storageManager.collection('email').findObjects({})) as Array<Record<string, unknown>>
    expect(emails.map((email) => email['address']).sort()).toEqual(['joe@example.com', 'joe@work.example'])
    expect(emails.every((email) => email['user'] === joe.id)).toBe(true)
    expect(await b.contents()).toEqual(await a.contents())
  })

  it('syncs creates, single-object updates and deletes on a compound pk', async () => {
    const [a, b] = await twoDevices(first, second)
    const memberships = (device: TestDevice) => device.storageManager.collection('membership')
    await memberships(a).createObject({ groupId: 'g1', memberId: 'u1', role: 'reader' })
    await memberships(a).createObject({ groupId: 'g1', memberId: 'u2', role: 'reader' })
    await syncBoth(a, b)
    b.clock.now += 10
    await memberships(b).updateOneObject({ groupId: 'g1', memberId: 'u1' }, { role: 'admin' })
    await memberships(b).deleteOneObject({ groupId: 'g1', memberId: 'u2' })
    await syncBoth(a, b)
    expect((await memberships(a).findObjects({})).map((m: any) => [m.groupId, m.memberId, m.role])).toEqual([['g1', 'u1', 'admin']])
    expect(await b.contents()).toEqual(await a.contents())
  })

  it('syncs updateOneObject and deleteOneObject by pk', async () => {
    const [a, b] = await twoDevices(first, second)
    const users = (device: TestDevice) => device.storageManager.collection('user')
    const { object: joe } = await users(a).createObject({ displayName: 'Joe' })
    const { object: jane } = await users(a).createObject({ displayName: 'Jane' })
    await syncBoth(a, b)
    a.clock.now += 10
    await users(a).updateOneObject({ id: joe.id }, { displayName: 'Joe Black' })
    await users(a).deleteOneObject({ id: jane.id })
    await syncBoth(a, b)
    expect(await users(b).findObjects({})).toEqual([expect.objectContaining({ id: joe.id, displayName: 'Joe Black' })])
  })
})
