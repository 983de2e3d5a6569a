import { afterAll, describe, expect, it } from 'vitest'
import type { DeviceId, SharedSyncLogEntry } from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { PostgresSharedSyncLog } from '../src/index'
import { startServer, tokenOf } from './helpers'
import { createPostgresDatabase, findPostgres } from './postgres-context'

const postgres = await findPostgres('the PostgreSQL load test')

describe.skipIf(!('url' in postgres))('load: 20 devices of 2 users on PostgreSQL over HTTP', () => {
  let drop: (() => Promise<void>) | undefined
  afterAll(async () => {
    await drop?.()
  })

  it('delivers every entry exactly once to every other device of its user, in order, none to the other user', async () => {
    const database = await createPostgresDatabase((postgres as { url: string }).url)
    drop = database.drop
    const log = await PostgresSharedSyncLog.connect({ connectionString: database.url, poolSize: 10 })
    const server = await startServer({ sharedSyncLog: log })
    try {
      const users = [1, 2] as const
      const ROUNDS = 4
      const PER_BATCH = 5
      interface Device { userId: 1 | 2; index: number; id: DeviceId; client: HttpSharedSyncLog; received: SharedSyncLogEntry[] }
      const devices: Device[] = []
      for (const userId of users) {
        for (let index = 0; index < 10; index += 1) {
          const client = new HttpSharedSyncLog({ url: server.url, token: tokenOf(userId), retries: 2, backoff: { initialMs: 20, maxMs: 100 } })
          devices.push({ userId, index, id: await client.createDeviceId({ userId }), client, received: [] })
        }
      }
      const pull = async (device: Device) => {
        for (let page = 0; page < 1000; page += 1) {
          const update = await device.client.getUnsyncedEntries({ userId: device.userId, deviceId: device.id, batchSize: 10 })
          device.received.push(...update.entries)
          await device.client.markAsSeen(update, { userId: device.userId, deviceId: device.id })
          if (!update.hasMore) return
        }
        throw new Error('too many pages')
      }
      // every device writes and reads at once, round after round
      await Promise.all(
        devices.map(async (device) => {
          for (let round = 0; round < ROUNDS; round += 1) {
            const entries = Array.from({ length: PER_BATCH }, (_, i) => {
              const n = round * PER_BATCH + i + 1
              return { createdOn: n, data: `${device.userId}/${device.index}/${n}` }
            })
            await device.client.writeEntries(entries, { userId: device.userId, deviceId: device.id })
            await pull(device)
          }
        }),
      )
      for (const device of devices) await pull(device) // what was written after each device's last read

      const total = ROUNDS * PER_BATCH
      for (const device of devices) {
        const data = device.received.map((e) => e.data)
        // exactly once: every entry of the user's 9 other devices, none twice
        expect(data.length).toBe(9 * total)
        expect(new Set(data).size).toBe(data.length)
        // none of the other user's, none of its own
        expect(device.received.every((e) => e.userId === device.userId && e.deviceId !== device.id)).toBe(true)
        expect(data.every((d) => d.startsWith(`${device.userId}/`) && !d.startsWith(`${device.userId}/${device.index}/`))).toBe(true)
        // in order: each writer's entries in the order it wrote them
        const lastSeen = new Map<string, number>()
        for (const d of data) {
          const [, writer, n] = d.split('/')
          expect(Number(n)).toBe((lastSeen.get(writer!) ?? 0) + 1)
          lastSeen.set(writer!, Number(n))
        }
      }
      // one order for all: any two devices of a user saw the entries of third devices in the same order
      for (const userId of users) {
        const mine = devices.filter((d) => d.userId === userId)
        const [a, b] = [mine[0]!, mine[1]!]
        const third = (device: Device) => device.received.map((e) => e.data).filter((d) => !d.startsWith(`${userId}/0/`) && !d.startsWith(`${userId}/1/`))
        expect(third(a)).toEqual(third(b))
      }
    } finally {
      await server.close()
      await log.close()
    }
  })
})
