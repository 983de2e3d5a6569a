import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { MemorySharedSyncLog, type DeviceId } from '@storex-sync/shared-sync-log-core'
import { ROUTES } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, staticTokenAuthenticator } from '../src/index'
import { TOKENS, tokenOf } from './helpers'

const ALICE = tokenOf('alice')
const BOB = tokenOf('bob')

let log: MemorySharedSyncLog
let app: FastifyInstance
let aliceDevice: DeviceId
let aliceReader: DeviceId
let bobDevice: DeviceId

beforeEach(async () => {
  log = new MemorySharedSyncLog()
  app = await createSyncServer({ sharedSyncLog: log, authenticate: staticTokenAuthenticator(TOKENS), bodyLimit: 64 * 1024 })
  aliceDevice = await log.createDeviceId({ userId: 'alice' })
  aliceReader = await log.createDeviceId({ userId: 'alice' })
  bobDevice = await log.createDeviceId({ userId: 'bob' })
})
afterEach(() => app.close())

function post(url: string, body: unknown, token: string | null = ALICE, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(typeof body === 'string' ? { payload: body } : body === undefined ? {} : { payload: body as object }),
  })
}

/** Nothing reached the log: alice's and bob's devices see no entries. */
async function expectNothingWritten() {
  expect((await log.getUnsyncedEntries({ userId: 'alice', deviceId: aliceReader })).entries).toEqual([])
  expect((await log.getUnsyncedEntries({ userId: 'bob', deviceId: await log.createDeviceId({ userId: 'bob' }) })).entries).toEqual([])
}

function expectCleanError(response: { statusCode: number; body: string }, status: number, code: string) {
  expect(response.statusCode).toBe(status)
  const body = JSON.parse(response.body)
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(10)
  // no stack traces, no file paths, no internals
  expect(response.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d|\.js:\d|FST_/)
  return body.error.message as string
}

const validBodies: Record<keyof typeof ROUTES, () => unknown> = {
  createDevice: () => ({}),
  deviceInfo: () => ({ deviceId: aliceDevice }),
  writeEntries: () => ({ deviceId: aliceDevice, entries: [{ createdOn: 1, data: 'x' }] }),
  unsyncedEntries: () => ({ deviceId: aliceDevice }),
  markAsSeen: () => ({ deviceId: aliceDevice, memo: { sequence: 0 } }),
  info: () => ({}),
  events: () => ({ deviceId: aliceDevice }),
  snapshot: () => ({ deviceId: aliceDevice }),
}

describe('authentication', () => {
  it.each(Object.keys(ROUTES) as Array<keyof typeof ROUTES>)('refuses %s without credentials or with a wrong token (401)', async (route) => {
    const missing = await post(ROUTES[route], validBodies[route](), null)
    expect(expectCleanError(missing, 401, 'UNAUTHENTICATED')).toMatch(/Authorization: Bearer/)
    expect(missing.headers['www-authenticate']).toBe('Bearer')
    const wrong = await post(ROUTES[route], validBodies[route](), 'not-a-valid-token-at-all')
    expect(expectCleanError(wrong, 401, 'UNAUTHENTICATED')).toMatch(/token is not valid/)
    const badScheme = await post(ROUTES[route], validBodies[route](), null, { authorization: `Basic ${ALICE}` })
    expectCleanError(badScheme, 401, 'UNAUTHENTICATED')
    await expectNothingWritten()
  })

  it('takes the user only from the token: a userId in the body is refused', async () => {
    const response = await post(ROUTES.writeEntries, { ...(validBodies.writeEntries() as object), userId: 'bob' })
    expect(expectCleanError(response, 400, 'INVALID_ARGUMENT')).toMatch(/userId/)
    const create = await post(ROUTES.createDevice, { userId: 'bob' }, ALICE)
    expectCleanError(create, 400, 'INVALID_ARGUMENT')
    await expectNothingWritten()
  })

  it('creates devices for the token\'s user', async () => {
    const response = await post(ROUTES.createDevice, { sharedUntil: 7 }, BOB)
    expect(response.statusCode).toBe(200)
    const { deviceId } = JSON.parse(response.body)
    expect(await log.getDeviceInfo({ userId: 'bob', deviceId })).toEqual({ sharedUntil: 7 })
    expect(await log.getDeviceInfo({ userId: 'alice', deviceId })).toBeNull()
  })

  it('answers 500 without details when the authenticator fails', async () => {
    const broken = await createSyncServer({
      sharedSyncLog: log,
      authenticate: () => {
        throw new Error('secret database password in this message')
      },
    })
    try {
      const response = await broken.inject({ method: 'POST', url: ROUTES.createDevice, headers: { authorization: `Bearer ${ALICE}` }, payload: {} })
      expectCleanError(response, 500, 'INTERNAL_ERROR')
      expect(response.body).not.toMatch(/secret/)
    } finally {
      await broken.close()
    }
  })
})

describe('isolation between users', () => {
  it('answers a guess of another user\'s device exactly like a device that does not exist', async () => {
    const missing = 987654
    for (const route of ['deviceInfo', 'writeEntries', 'unsyncedEntries', 'markAsSeen'] as const) {
      const foreign = await post(ROUTES[route], { ...(validBodies[route]() as object), deviceId: bobDevice })
      const nonexistent = await post(ROUTES[route], { ...(validBodies[route]() as object), deviceId: missing })
      expect(foreign.statusCode).toBe(nonexistent.statusCode)
      expect(foreign.body.split(JSON.stringify(bobDevice)).join('<id>')).toBe(nonexistent.body.split(JSON.stringify(missing)).join('<id>'))
      if (route === 'deviceInfo') {
        expect(JSON.parse(foreign.body)).toEqual({ device: null })
      } else {
        expectCleanError(foreign, 404, 'UNKNOWN_DEVICE')
      }
    }
    await expectNothingWritten()
    // bob's device cursor did not move either
    await log.writeEntries([{ createdOn: 1, data: 'bob' }], { userId: 'bob', deviceId: await log.createDeviceId({ userId: 'bob' }) })
    expect((await log.getUnsyncedEntries({ userId: 'bob', deviceId: bobDevice })).entries.map((e) => e.data)).toEqual(['bob'])
  })

  it('never hands one user\'s entries to another', async () => {
    await post(ROUTES.writeEntries, { deviceId: aliceDevice, entries: [{ createdOn: 1, data: 'alice secret' }] })
    const bobRead = await post(ROUTES.unsyncedEntries, { deviceId: bobDevice }, BOB)
    expect(JSON.parse(bobRead.body).entries).toEqual([])
    const aliceRead = await post(ROUTES.unsyncedEntries, { deviceId: aliceReader })
    expect(JSON.parse(aliceRead.body).entries.map((e: any) => e.data)).toEqual(['alice secret'])
  })
})

describe('bad requests: 4xx with a message, nothing written', () => {
  it('malformed JSON', async () => {
    const response = await post(ROUTES.writeEntries, '{"deviceId": 1, "entries": [')
    expect(expectCleanError(response, 400, 'INVALID_JSON')).toMatch(/not valid JSON/)
    await expectNothingWritten()
  })

  it('an empty body', async () => {
    const response = await post(ROUTES.writeEntries, '')
    expect(expectCleanError(response, 400, 'INVALID_JSON')).toMatch(/empty/)
  })

  it('a prototype-poisoning body', async () => {
    const response = await post(ROUTES.writeEntries, `{"deviceId": ${JSON.stringify(aliceDevice)}, "entries": [], "__proto__": {"admin": true}}`)
    expect(response.statusCode).toBe(400)
    expectCleanError(response, 400, 'INVALID_JSON')
  })

  it.each([
    ['createdOn as a string', () => ({ deviceId: aliceDevice, entries: [{ createdOn: '1', data: 'x' }] }), /entries\.0\.createdOn/],
    // An entry with a valid createdOn but bad content is refused by name, so the client can set it aside.
    ['data as an object', () => ({ deviceId: aliceDevice, entries: [{ createdOn: 1, data: { a: 1 } }] }), /entries\.0\.data/, 'ENTRIES_REFUSED'],
    ['entries not an array', () => ({ deviceId: aliceDevice, entries: 'x' }), /entries/],
    ['deviceId missing', () => ({ entries: [] }), /deviceId/],
    ['deviceId an object', () => ({ deviceId: { $gt: 0 }, entries: [] }), /deviceId/],
    ['an unknown field in an entry', () => ({ deviceId: aliceDevice, entries: [{ createdOn: 1, data: 'x', sequence: 5 }] }), /sequence/, 'ENTRIES_REFUSED'],
    ['a body that is an array', () => [1, 2], /body/],
    // Clock values no device can use (issue: a broken clock elsewhere exhausted every receiver's clock).
    ['createdOn 2^53', () => ({ deviceId: aliceDevice, entries: [{ createdOn: 2 ** 53, data: 'x' }] }), /entries\.0\.createdOn: .*safe non-negative integer/, 'ENTRIES_REFUSED'],
    ['createdOn negative', () => ({ deviceId: aliceDevice, entries: [{ createdOn: -1, data: 'x' }] }), /entries\.0\.createdOn/, 'ENTRIES_REFUSED'],
    ['createdOn fractional', () => ({ deviceId: aliceDevice, entries: [{ createdOn: 1.5, data: 'x' }] }), /entries\.0\.createdOn/, 'ENTRIES_REFUSED'],
    [
      'createdOn two days ahead of the server',
      () => ({ deviceId: aliceDevice, entries: [{ createdOn: 1, data: 'ok' }, { createdOn: (Date.now() + 2 * 86_400_000) * 1000, data: 'x' }] }),
      /entries\.1\.createdOn: .*ahead of the receiver's clock, more than the maximum drift/,
      'ENTRIES_REFUSED',
    ],
  ])('wrong types: %s', async (_name, body, mentions, code = 'INVALID_ARGUMENT') => {
    const response = await post(ROUTES.writeEntries, JSON.stringify(body()))
    expect(expectCleanError(response, 400, code)).toMatch(mentions)
    await expectNothingWritten()
  })

  it('wrong types on reads: batchSize 0, now as a date string', async () => {
    expect(expectCleanError(await post(ROUTES.unsyncedEntries, { deviceId: aliceDevice, batchSize: 0 }), 400, 'INVALID_ARGUMENT')).toMatch(/batchSize/)
    expect(expectCleanError(await post(ROUTES.markAsSeen, { deviceId: aliceDevice, memo: { sequence: 0 }, now: '2020-01-01' }), 400, 'INVALID_ARGUMENT')).toMatch(/now/)
  })

  it('a forged memo: 400 INVALID_MEMO, the cursor stays', async () => {
    await log.writeEntries([{ createdOn: 1, data: 'x' }], { userId: 'alice', deviceId: aliceDevice })
    const response = await post(ROUTES.markAsSeen, { deviceId: aliceReader, memo: { sequence: 99 } })
    expectCleanError(response, 400, 'INVALID_MEMO')
    expect((await log.getUnsyncedEntries({ userId: 'alice', deviceId: aliceReader })).entries).toHaveLength(1)
  })

  it('an oversized body: 413', async () => {
    const response = await post(ROUTES.writeEntries, JSON.stringify({ deviceId: aliceDevice, entries: [{ createdOn: 1, data: 'x'.repeat(100 * 1024) }] }))
    expect(expectCleanError(response, 413, 'BODY_TOO_LARGE')).toMatch(/65536 bytes/)
    await expectNothingWritten()
  })

  it('a body that is not JSON: 415', async () => {
    const response = await post(ROUTES.writeEntries, undefined, ALICE, { 'content-type': 'text/plain' })
    const text = await app.inject({
      method: 'POST',
      url: ROUTES.writeEntries,
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'text/plain' },
      payload: 'deviceId=1',
    })
    expect(expectCleanError(text, 415, 'UNSUPPORTED_MEDIA_TYPE')).toMatch(/application\/json/)
    expect(response.statusCode).toBeGreaterThanOrEqual(400)
    expect(response.statusCode).toBeLessThan(500)
    await expectNothingWritten()
  })

  it('unknown routes and methods: 404 naming the routes that exist', async () => {
    const unknown = await post('/v1/entries/delete-everything', { deviceId: aliceDevice })
    expect(expectCleanError(unknown, 404, 'ROUTE_NOT_FOUND')).toMatch(/\/v1\/entries\/write/)
    const wrongMethod = await app.inject({ method: 'GET', url: ROUTES.unsyncedEntries, headers: { authorization: `Bearer ${ALICE}` } })
    expectCleanError(wrongMethod, 404, 'ROUTE_NOT_FOUND')
    // without credentials, even unknown routes answer 401: nothing is learned about the server
    const noAuth = await app.inject({ method: 'GET', url: '/' })
    expectCleanError(noAuth, 401, 'UNAUTHENTICATED')
    await expectNothingWritten()
  })

  it('an error inside the log: 500 without its message', async () => {
    const failing = new MemorySharedSyncLog()
    failing.writeEntries = async () => {
      throw new Error('relation "x" does not exist at /srv/app/secret.js:12')
    }
    const broken = await createSyncServer({ sharedSyncLog: failing, authenticate: staticTokenAuthenticator(TOKENS) })
    try {
      const device = await failing.createDeviceId({ userId: 'alice' })
      const response = await broken.inject({
        method: 'POST',
        url: ROUTES.writeEntries,
        headers: { authorization: `Bearer ${ALICE}` },
        payload: { deviceId: device, entries: [] },
      })
      expectCleanError(response, 500, 'INTERNAL_ERROR')
      expect(response.body).not.toMatch(/relation|secret/)
    } finally {
      await broken.close()
    }
  })
})

describe('mounting', () => {
  it('serves under a prefix, and 404s outside it', async () => {
    const mounted = await createSyncServer({ sharedSyncLog: log, authenticate: staticTokenAuthenticator(TOKENS), prefix: '/sync/' })
    try {
      const ok = await mounted.inject({ method: 'POST', url: `/sync${ROUTES.deviceInfo}`, headers: { authorization: `Bearer ${ALICE}` }, payload: { deviceId: aliceDevice } })
      expect(JSON.parse(ok.body)).toEqual({ device: { sharedUntil: null } })
      const outside = await mounted.inject({ method: 'POST', url: ROUTES.deviceInfo, headers: { authorization: `Bearer ${ALICE}` }, payload: { deviceId: aliceDevice } })
      expectCleanError(outside, 404, 'ROUTE_NOT_FOUND')
    } finally {
      await mounted.close()
    }
  })
})
