import { afterEach, describe, expect, it } from 'vitest'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator } from '@storex-sync/sync-server'
import { clientBackends } from '@storex-sync/test-backends'
import { createTestDevice, type TestDevice } from './devices'

// Regression (issue 16): one note of 6 MB, then three ordinary ones, synced
// through storex-sync-server with its default 4 MiB body limit. Before, every
// sync failed with 413 and the three notes never left the device.
const TOKEN = 'token-of-the-big-note-user-0123456789'

describe.each(clientBackends.map((backend) => backend.kind))('a 6 MB note over HTTP on %s', (kind) => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('the three ordinary notes arrive, the big one is reported and can be discarded so both devices agree', async () => {
    const app = await createSyncServer({ database: ':memory:', authenticate: staticTokenAuthenticator({ [TOKEN]: 'writer' }) })
    await app.listen({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => app.close())
    const address = app.server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    let requests = 0
    const sharedSyncLog = new HttpSharedSyncLog({
      url,
      token: TOKEN,
      retries: 0,
      fetch: (input, init) => {
        requests += 1
        return fetch(input, init)
      },
    })
    const phone: TestDevice = await createTestDevice({ name: 'phone', kind, sharedSyncLog, userId: 'writer' })
    cleanups.push(() => phone.storage.cleanup())
    const laptop: TestDevice = await createTestDevice({ name: 'laptop', kind, sharedSyncLog, userId: 'writer' })
    cleanups.push(() => laptop.storage.cleanup())

    const notes = phone.storageManager.collection('note')
    await notes.createObject({ title: 'big', body: 'x'.repeat(6 * 1024 * 1024) })
    for (const title of ['groceries', 'ideas', 'todo']) await notes.createObject({ title })

    requests = 0
    const result = await phone.sync()
    expect(result.sent).toMatchObject({ entries: 3, quarantined: 1 })
    expect(result.outgoingQuarantined).toEqual([
      expect.objectContaining({ operation: 'create', reason: 'TOO_LARGE', message: expect.stringMatching(/more than the 4194304 bytes/) }),
    ])
    // info, read, mark as seen (an empty page still moves the cursor past own entries and tells the
    // server the device is active), one write of the three notes: the 6 MB body never went out.
    expect(requests).toBe(4)
    await laptop.sync()
    expect((await laptop.contents()).note!.map((note) => note['title']).sort()).toEqual(['groceries', 'ideas', 'todo'])

    // Renaming the big note waits behind it; deleting it settles it: the refused create and the
    // rename are moot (a delete wins over earlier writes), the delete is sent, nothing is left.
    const big = (await notes.findObjects({ title: 'big' }))[0] as { id: string }
    await notes.updateOneObject({ id: big.id }, { title: 'big, renamed' })
    const second = await phone.sync()
    expect(second.outgoingQuarantined.map((entry) => [entry.operation, entry.reason])).toEqual([['modify', 'HELD_BEHIND']])
    await notes.deleteOneObject({ id: big.id })
    const events: string[] = []
    const third = await phone.sync({ events: { emit: (name, payload) => events.push(`${name} ${JSON.stringify(payload.dropped ?? '')}`) } })
    expect(third.sent.entries).toBe(1)
    expect(events).toContain('outgoingEntriesSettled 2')
    expect(await phone.clientSyncLog.countOutgoingQuarantinedEntries()).toBe(0)
    expect(await phone.clientSyncLog.countPending()).toEqual({ unshared: 0, needsIntegration: 0 })
    await laptop.sync()
    expect(await phone.contents()).toEqual(await laptop.contents())
  }, 120_000)

  it('against a server that publishes no limits, the 413 is answered by halving the write: same outcome', async () => {
    const app = await createSyncServer({ database: ':memory:', authenticate: staticTokenAuthenticator({ [TOKEN]: 'writer' }) })
    await app.listen({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => app.close())
    const address = app.server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    let refused = 0
    const sharedSyncLog = new HttpSharedSyncLog({
      url,
      token: TOKEN,
      retries: 0,
      // An older server: no /v1/info route.
      fetch: async (input, init) => {
        if (String(input).endsWith('/v1/info')) {
          return new Response(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route' } }), { status: 404 })
        }
        const response = await fetch(input, init)
        if (response.status === 413) refused += 1
        return response
      },
    })
    const phone = await createTestDevice({ name: 'phone', kind, sharedSyncLog, userId: 'writer' })
    cleanups.push(() => phone.storage.cleanup())
    const laptop = await createTestDevice({ name: 'laptop', kind, sharedSyncLog, userId: 'writer' })
    cleanups.push(() => laptop.storage.cleanup())
    const notes = phone.storageManager.collection('note')
    await notes.createObject({ title: 'big', body: 'x'.repeat(6 * 1024 * 1024) })
    for (const title of ['groceries', 'ideas', 'todo']) await notes.createObject({ title })
    const result = await phone.sync()
    expect(result.sent.entries).toBe(3)
    expect(result.outgoingQuarantined.map((entry) => entry.reason)).toEqual(['TOO_LARGE'])
    expect(refused).toBe(3) // 4 entries, then 2, then the big one alone
    await laptop.sync()
    expect((await laptop.contents()).note!.map((note) => note['title']).sort()).toEqual(['groceries', 'ideas', 'todo'])
  }, 120_000)
})
