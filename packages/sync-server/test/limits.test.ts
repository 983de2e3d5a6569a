import { afterEach, describe, expect, it } from 'vitest'
import {
  MemorySharedSyncLog,
  SharedSyncLogRefusalError,
  measureWriteBytes,
  readRefusal,
  type SharedSyncLog,
} from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog, ROUTES } from '@storex-sync/shared-sync-log-http'
import { startServer, tokenOf, type RunningServer } from './helpers'

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function post(path: string, body: unknown) {
  const response = await fetch(server!.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(1)}` },
    body: JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as any }
}

describe('limits over HTTP', () => {
  it('the server publishes its limits and time at POST /v1/info; the client reads and caches them', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), bodyLimit: 50_000, maxEntriesPerWrite: 300 })
    const before = Date.now()
    const { status, json } = await post(ROUTES.info, {})
    expect(status).toBe(200)
    expect(json).toEqual({ protocolVersion: 1, limits: { maxEntriesPerWrite: 300, maxWriteBytes: 50_000, sizeRule: 'json-utf8-v1' }, now: expect.any(Number) })
    expect(json.now).toBeGreaterThanOrEqual(before)
    let calls = 0
    const client = new HttpSharedSyncLog({
      url: server.url,
      token: tokenOf(1),
      fetch: (input, init) => {
        calls += 1
        return fetch(input, init)
      },
    })
    expect(await client.getLimits()).toEqual({ maxEntriesPerWrite: 300, maxWriteBytes: 50_000, sizeRule: 'json-utf8-v1' })
    await client.getLimits()
    expect(calls).toBe(1)
    expect(Math.abs((await client.getServerTime()) - Date.now())).toBeLessThan(1000)
  })

  it('a write of exactly maxWriteBytes passes; one byte more is a refusal for its size (413), never retried', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), bodyLimit: 10_000 })
    let calls = 0
    const client = new HttpSharedSyncLog({
      url: server.url,
      token: tokenOf(1),
      retries: 3,
      fetch: (input, init) => {
        calls += 1
        return fetch(input, init)
      },
    })
    const deviceId = await client.createDeviceId({ userId: 1 })
    const options = { userId: 1, deviceId }
    const empty = measureWriteBytes([{ createdOn: 1, data: '' }], { deviceId })
    await client.writeEntries([{ createdOn: 1, data: 'é'.repeat((10_000 - empty) / 2) }], options)
    calls = 0
    const error = await client.writeEntries([{ createdOn: 2, data: 'x'.repeat(10_000 - empty + 1) }], options).catch((thrown) => thrown)
    expect(error).toBeInstanceOf(SharedSyncLogRefusalError)
    expect(readRefusal(error)).toMatchObject({ code: 'REQUEST_TOO_LARGE', refused: null })
    expect(error.message).toMatch(/413 BODY_TOO_LARGE: the request body is larger than the server's limit of 10000 bytes/)
    expect(calls).toBe(1)
  })

  it('invalid entries are refused by name (400 ENTRIES_REFUSED with their createdOn); other bad requests stay INVALID_ARGUMENT', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    const deviceId = (await post(ROUTES.createDevice, {})).json.deviceId
    const refused = await post(ROUTES.writeEntries, { deviceId, entries: [{ createdOn: 1, data: 'ok' }, { createdOn: 2, data: 5 }, { createdOn: 3, data: 'ok', extra: 1 }] })
    expect(refused.status).toBe(400)
    expect(refused.json.error).toMatchObject({
      code: 'ENTRIES_REFUSED',
      refused: [
        { createdOn: 2, reason: 'INVALID_ENTRY', message: expect.stringMatching(/data: .*string/) },
        { createdOn: 3, reason: 'INVALID_ENTRY', message: expect.any(String) },
      ],
    })
    const other = await post(ROUTES.writeEntries, { deviceId: { no: 1 }, entries: [] })
    expect(other.json.error.code).toBe('INVALID_ARGUMENT')
  })

  it('more entries than maxEntriesPerWrite: 413 REQUEST_TOO_LARGE, a refusal for its size', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), maxEntriesPerWrite: 2 })
    const deviceId = (await post(ROUTES.createDevice, {})).json.deviceId
    const response = await post(ROUTES.writeEntries, { deviceId, entries: [1, 2, 3].map((createdOn) => ({ createdOn, data: 'x' })) })
    expect(response.status).toBe(413)
    expect(response.json.error).toMatchObject({ code: 'REQUEST_TOO_LARGE', message: expect.stringMatching(/at most 2 entries per write/) })
    const client = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1) })
    expect(await client.getLimits()).toMatchObject({ maxEntriesPerWrite: 2 })
    const error = await client.writeEntries([1, 2, 3].map((createdOn) => ({ createdOn, data: 'x' })), { userId: 1, deviceId }).catch((thrown) => thrown)
    expect(readRefusal(error)?.code).toBe('REQUEST_TOO_LARGE')
  })

  it('a log behind the server that refuses entries: the client gets the refusal with the entries named', async () => {
    const inner = new MemorySharedSyncLog()
    const picky: SharedSyncLog = {
      createDeviceId: (o) => inner.createDeviceId(o),
      getDeviceInfo: (o) => inner.getDeviceInfo(o),
      getUnsyncedEntries: (o) => inner.getUnsyncedEntries(o),
      markAsSeen: (u, o) => inner.markAsSeen(u, o),
      writeEntries: async (entries, o) => {
        const bad = entries.filter((entry) => entry.data.includes('poison'))
        if (bad.length) {
          throw new SharedSyncLogRefusalError('ENTRIES_REFUSED', 'poisoned entries', {
            refused: bad.map((entry) => ({ createdOn: entry.createdOn, reason: 'POISON', message: 'contains poison' })),
          })
        }
        return inner.writeEntries(entries, o)
      },
    }
    server = await startServer({ sharedSyncLog: picky })
    const client = new HttpSharedSyncLog({ url: server.url, token: tokenOf(1), retries: 2 })
    const deviceId = await client.createDeviceId({ userId: 1 })
    const error = await client.writeEntries([{ createdOn: 1, data: 'fine' }, { createdOn: 2, data: 'poison' }], { userId: 1, deviceId }).catch((thrown) => thrown)
    expect(readRefusal(error)).toEqual({ code: 'ENTRIES_REFUSED', refused: [{ createdOn: 2, reason: 'POISON', message: 'contains poison' }], message: expect.stringMatching(/poisoned entries/) })
  })

  it('429 is retried like a 5xx; an older server without /v1/info publishes no limits', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog() })
    let calls = 0
    const client = new HttpSharedSyncLog({
      url: server.url,
      token: tokenOf(1),
      retries: 2,
      backoff: { initialMs: 5, maxMs: 10 },
      fetch: async (input, init) => {
        calls += 1
        if (calls === 1) return new Response(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'slow down' } }), { status: 429 })
        if (String(input).endsWith(ROUTES.info)) return new Response(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route' } }), { status: 404 })
        return fetch(input, init)
      },
    })
    expect(typeof (await client.createDeviceId({ userId: 1 }))).toBe('number')
    expect(calls).toBe(2)
    expect(await client.getLimits()).toEqual({})
  })
})
