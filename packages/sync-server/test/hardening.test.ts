import { afterAll, describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { MemorySharedSyncLog, type DeviceId, type SharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { ROUTES } from '@storex-sync/shared-sync-log-http'
import { createSyncServer, PostgresSharedSyncLog, staticTokenAuthenticator } from '../src/index'
import { nestingDepth } from '../src/internal/input'
import { TOKENS, tokenOf } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

// Findings 1 and 4 of issue 12: every input bounded and checked, 4xx never
// 500, nothing that cannot be stored exactly (or served back) is accepted.

const ALICE = tokenOf('alice')
const postgres = await findPostgres('the hardening tests on PostgreSQL')
let pgDatabase: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined
afterAll(async () => {
  await pgDatabase?.drop()
})

interface Backend {
  name: string
  open(): Promise<{ app: FastifyInstance; close(): Promise<void> }>
}

let tableCounter = 0
const backends: Backend[] = [
  {
    name: 'memory',
    open: async () => {
      const app = await createSyncServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: staticTokenAuthenticator(TOKENS), logger: false })
      return { app, close: () => app.close() }
    },
  },
  {
    name: 'SQLite',
    open: async () => {
      const app = await createSyncServer({ database: ':memory:', authenticate: staticTokenAuthenticator(TOKENS), logger: false })
      return { app, close: () => app.close() }
    },
  },
]
if ('url' in postgres) {
  backends.push({
    name: 'PostgreSQL',
    open: async () => {
      pgDatabase ??= await createPostgresDatabase(postgres.url)
      const log = await PostgresSharedSyncLog.connect({ connectionString: pgDatabase.url, tablePrefix: `h${++tableCounter}_`, poolSize: 2 })
      const app = await createSyncServer({ sharedSyncLog: log, authenticate: staticTokenAuthenticator(TOKENS), logger: false })
      return {
        app,
        close: async () => {
          await app.close()
          await log.close()
        },
      }
    },
  })
}

function post(app: FastifyInstance, url: string, payload: string | Buffer, contentType = 'application/json') {
  return app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${ALICE}`, 'content-type': contentType } })
}

function nested(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels)
}

describe.each(backends)('hardened input on $name', (backend) => {
  async function withServer(test: (app: FastifyInstance, devices: { writer: DeviceId; reader: DeviceId }) => Promise<void>) {
    const { app, close } = await backend.open()
    try {
      const writer = (await post(app, ROUTES.createDevice, '{}')).json().deviceId
      const reader = (await post(app, ROUTES.createDevice, '{}')).json().deviceId
      await test(app, { writer, reader })
    } finally {
      await close()
    }
  }

  async function readerGets(app: FastifyInstance, reader: DeviceId) {
    const response = await post(app, ROUTES.unsyncedEntries, JSON.stringify({ deviceId: reader }))
    expect(response.statusCode).toBe(200)
    return response.json().entries.map((e: { data: string }) => e.data)
  }

  it('refuses a deeply nested extraSentInfo (4,566 and 100,000 levels) with 400, stores nothing, and reads keep working', () =>
    withServer(async (app, { writer, reader }) => {
      for (const levels of [4566, 100_000]) {
        const body = `{"deviceId":${JSON.stringify(writer)},"entries":[{"createdOn":1,"data":"x"}],"extraSentInfo":${nested(levels)}}`
        const response = await post(app, ROUTES.writeEntries, body)
        expect(response.statusCode, `${levels} levels`).toBe(400)
        expect(response.json().error.code).toBe('TOO_DEEP')
      }
      // a deep memo too
      const memo = await post(app, ROUTES.markAsSeen, `{"deviceId":${JSON.stringify(reader)},"memo":${nested(5000)}}`)
      expect([memo.statusCode, memo.json().error.code]).toEqual([400, 'TOO_DEEP'])
      expect(await readerGets(app, reader)).toEqual([])
      // nesting within the bound is stored and served back
      const ok = await post(app, ROUTES.writeEntries, `{"deviceId":${JSON.stringify(writer)},"entries":[{"createdOn":2,"data":"y"}],"extraSentInfo":${nested(20)}}`)
      expect(ok.statusCode).toBe(200)
      const read = await post(app, ROUTES.unsyncedEntries, JSON.stringify({ deviceId: reader }))
      expect(read.statusCode).toBe(200)
      expect(JSON.stringify(read.json().entries[0].extraSentInfo)).toBe(nested(20))
    }))

  it('refuses an oversized extraSentInfo with 413', () =>
    withServer(async (app, { writer, reader }) => {
      const response = await post(app, ROUTES.writeEntries, JSON.stringify({ deviceId: writer, entries: [{ createdOn: 1, data: 'x' }], extraSentInfo: 'x'.repeat(20_000) }))
      expect([response.statusCode, response.json().error.code]).toEqual([413, 'EXTRA_SENT_INFO_TOO_LARGE'])
      expect(await readerGets(app, reader)).toEqual([])
    }))

  it('refuses text it cannot store exactly with 400 (NUL, lone surrogates, invalid and overlong UTF-8) and other charsets with 415', () =>
    withServer(async (app, { writer, reader }) => {
      const prefix = `{"deviceId":${JSON.stringify(writer)},"entries":[{"createdOn":1,"data":"`
      const suffix = '"}]}'
      const cases: Array<[string, string | Buffer, string, number, string]> = [
        ['NUL in data', `${prefix}a\\u0000b${suffix}`, 'application/json', 400, 'INVALID_TEXT'],
        ['a lone high surrogate', `${prefix}a\\ud800b${suffix}`, 'application/json', 400, 'INVALID_TEXT'],
        ['a lone low surrogate in extraSentInfo', `{"deviceId":${JSON.stringify(writer)},"entries":[],"extraSentInfo":{"k":"\\udc00"}}`, 'application/json', 400, 'INVALID_TEXT'],
        ['invalid UTF-8', Buffer.concat([Buffer.from(prefix), Buffer.from([0xff, 0xfe]), Buffer.from(suffix)]), 'application/json', 400, 'INVALID_TEXT'],
        ['overlong UTF-8', Buffer.concat([Buffer.from(prefix), Buffer.from([0xc0, 0xaf]), Buffer.from(suffix)]), 'application/json', 400, 'INVALID_TEXT'],
        ['a latin-1 body', Buffer.concat([Buffer.from(prefix), Buffer.from([0xe9]), Buffer.from(suffix)]), 'application/json; charset=latin1', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ]
      for (const [name, payload, contentType, status, code] of cases) {
        const response = await post(app, ROUTES.writeEntries, payload, contentType)
        expect([response.statusCode, response.json().error?.code], name).toEqual([status, code])
      }
      expect(await readerGets(app, reader)).toEqual([])
      // what can be stored exactly is: astral characters, escaped NUL inside the JSON of an entry, utf-8 charset
      const good = ['😀 \u00e9', JSON.stringify({ text: 'a\u0000b' })]
      const response = await post(app, ROUTES.writeEntries, JSON.stringify({ deviceId: writer, entries: good.map((data, i) => ({ createdOn: i + 1, data })) }), 'application/json; charset=utf-8')
      expect(response.statusCode).toBe(200)
      expect(await readerGets(app, reader)).toEqual(good)
    }))

  it('answers a cursor it never handed out (1e300, 1e15) with 400', () =>
    withServer(async (app, { reader }) => {
      for (const sequence of ['1e300', '1e15', '-1']) {
        const response = await post(app, ROUTES.markAsSeen, `{"deviceId":${JSON.stringify(reader)},"memo":{"sequence":${sequence}}}`)
        expect([response.statusCode, response.json().error.code], sequence).toEqual([400, 'INVALID_MEMO'])
      }
    }))
})

describe('nestingDepth', () => {
  it('counts brackets outside strings only, escapes included', () => {
    expect(nestingDepth('{"a":[1,{"b":"[[[\\"{{"}]}', 10)).toBe(3)
    expect(nestingDepth(nested(1000), 5)).toBe(6)
  })
})

describe('error log lines', () => {
  it('name the request id and the user id, never the token', async () => {
    const lines: string[] = []
    const stream = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done() } })
    const failing: SharedSyncLog = Object.assign(new MemorySharedSyncLog(), {
      writeEntries: async () => {
        throw new Error('disk on fire')
      },
    })
    const app = await createSyncServer({ sharedSyncLog: failing, authenticate: staticTokenAuthenticator(TOKENS), logger: { level: 'warn', stream } })
    try {
      const deviceId = (await post(app, ROUTES.createDevice, '{}')).json().deviceId
      const response = await post(app, ROUTES.writeEntries, JSON.stringify({ deviceId, entries: [{ createdOn: 1, data: 'x' }] }))
      expect(response.statusCode).toBe(500)
      expect(response.body).not.toContain('disk on fire')
      const logged = lines.map((line) => JSON.parse(line)).find((line) => line.level === 50)
      expect(logged).toMatchObject({ reqId: expect.any(String), userId: 'alice', err: { message: 'disk on fire' } })
      expect(lines.join('')).not.toContain(ALICE)
    } finally {
      await app.close()
    }
  })
})

describe('bounded reads', () => {
  it('cuts a page of large entries to fit maxReadBytes, and the following reads deliver the rest in order', async () => {
    const app = await createSyncServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: staticTokenAuthenticator(TOKENS), logger: false, maxReadBytes: 1000 })
    try {
      const writer = (await post(app, ROUTES.createDevice, '{}')).json().deviceId
      const reader = (await post(app, ROUTES.createDevice, '{}')).json().deviceId
      const data = [1, 2, 3, 4, 5].map((i) => String(i).repeat(400))
      await post(app, ROUTES.writeEntries, JSON.stringify({ deviceId: writer, entries: data.map((d, i) => ({ createdOn: i + 1, data: d })) }))
      const pages: string[][] = []
      for (let round = 0; round < 10; round += 1) {
        const update = (await post(app, ROUTES.unsyncedEntries, JSON.stringify({ deviceId: reader }))).json()
        pages.push(update.entries.map((e: { data: string }) => e.data))
        expect((await post(app, ROUTES.markAsSeen, JSON.stringify({ deviceId: reader, memo: update.memo }))).statusCode).toBe(200)
        if (!update.hasMore) break
      }
      expect(pages.map((page) => page.length)).toEqual([2, 2, 1])
      expect(pages.flat()).toEqual(data)
    } finally {
      await app.close()
    }
  })
})
