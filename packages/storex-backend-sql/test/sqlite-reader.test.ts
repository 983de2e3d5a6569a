import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageManager as StorexStorageManager } from '@storex-sync/storex-glue'
import { SqlStorageBackend, StorexBackendSqlError, openSqliteBackend } from '../src/index'

const StorageManager: any = StorexStorageManager
const collections = { item: { version: new Date(2024, 0, 1), fields: { id: { type: 'string' }, n: { type: 'int' } }, indices: [{ field: 'id', pk: true }] } }

const directories: string[] = []
afterEach(() => {
  while (directories.length) rmSync(directories.pop()!, { recursive: true, force: true })
})

/** A backend on a WAL file with a read-only reader connection; `yieldAfterMs: 0` yields between every statement. */
async function openFileBackend() {
  const directory = mkdtempSync(join(tmpdir(), 'storex-backend-sql-'))
  directories.push(directory)
  const filename = join(directory, 'db.sqlite')
  const database = new Database(filename)
  database.pragma('journal_mode = WAL')
  const reader = new Database(filename, { readonly: true })
  const backend = new SqlStorageBackend({ connection: { dialect: 'sqlite', database, reader }, autoPkType: 'string', yieldAfterMs: 0 })
  const storageManager = new StorageManager({ backend })
  storageManager.registry.registerCollections(collections)
  await storageManager.finishInitialization()
  await backend.migrate()
  return { backend, storageManager, database, reader }
}

describe('SqlStorageBackend on an SQLite file with a reader connection', () => {
  it('lets reads see the state before a batch that is being written, and makes other writes wait for the batch', async () => {
    const { backend, storageManager } = await openFileBackend()
    const items = storageManager.collection('item')
    await items.createObject({ id: 'before', n: 0 })
    // Updates by a where other than the pk are not grouped: one statement (and one yield) each.
    const batch = Array.from({ length: 50 }, (_, i) => ({ operation: 'updateObjects', collection: 'item', where: { n: i }, updates: { n: i + 1 } }))
    const writing = backend.executeBatch(batch)
    // The batch has yielded after its first statement: the reader still sees the committed state.
    expect(await items.findObject({ id: 'before' })).toEqual({ id: 'before', n: 0 })
    // Had this write run at once (inside the open transaction), it would have found no n = 50 yet.
    const laterWrite = items.updateObjects({ n: 50 }, { n: 100 })
    await Promise.all([writing, laterWrite])
    expect(await items.findObject({ id: 'before' })).toEqual({ id: 'before', n: 100 })
    await items.createObject({ id: 'after', n: -1 })
    expect(await items.countObjects({})).toBe(2)
    await backend.close()
  })

  it('rolls a failing yielding batch back, and closes both connections', async () => {
    const { backend, storageManager, database, reader } = await openFileBackend()
    const items = storageManager.collection('item')
    await items.createObject({ id: 'a', n: 1 })
    const batch = [
      { operation: 'updateObjects', collection: 'item', where: { n: 1 }, updates: { n: 2 } },
      { operation: 'createObject', collection: 'item', args: { id: 'a', n: 3 } },
    ]
    await expect(backend.executeBatch(batch)).rejects.toMatchObject({ code: 'DUPLICATE_PK' })
    expect(database.inTransaction).toBe(false)
    expect(await items.findObjects({})).toEqual([{ id: 'a', n: 1 }])
    await backend.close()
    expect(database.open).toBe(false)
    expect(reader.open).toBe(false)
    await expect(items.findObjects({})).rejects.toThrow(StorexBackendSqlError)
    await expect(items.findObjects({})).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('opens files with a reader through openSqliteBackend, and in-memory databases without one', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'storex-backend-sql-'))
    directories.push(directory)
    const onFile = await openSqliteBackend({ filename: join(directory, 'db.sqlite') })
    const inMemory = await openSqliteBackend()
    expect((onFile as any).runner.reader).not.toBeNull()
    expect((inMemory as any).runner.reader).toBeNull()
    await onFile.close()
    await inMemory.close()
  })
})
