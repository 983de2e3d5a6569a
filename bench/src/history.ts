/**
 * A user's long history for the issue-13 benchmark, made without running
 * devices: entries in the devices' wire form (JSON of `SharedSyncLogEntryData`,
 * as doSync's default serializer writes it), written straight into the
 * shared log. Deterministic for given options.
 */
import { createHash } from 'node:crypto'
import { HLC_TICKS_PER_MS } from '@storex-sync/client-sync-log'
import { benchCollections, makeNote } from './notes'

export interface HistoryOptions {
  /** Objects alive at the end. */
  liveObjects: number
  /** Entries in the whole history (creates + modifies + deletes). */
  entries: number
  /** Objects created and later deleted, per live object (default 0.1). */
  deletedPerLive?: number
  /** Devices that wrote the history, taking turns by session (default 3). */
  writers?: number
  /** Objects a session creates, edits and partly deletes before the next session starts (default 100). */
  sessionSize?: number
}

export interface HistoryShape {
  created: number
  deleted: number
  live: number
  modifies: number
  total: number
  /** Fields of the note collection: a live object keeps at most fields + 1 entries. */
  fields: number
}

export interface HistoryEntry {
  /** Index of the writing device (0 .. writers - 1). */
  writer: number
  createdOn: number
  data: string
}

const FIELDS = Object.keys(benchCollections.note.fields) as Array<keyof typeof benchCollections.note.fields>
const SCHEMA_VERSION = benchCollections.note.version.getTime()
/** Wall-clock time between two entries of the history: 1M entries span about a month. */
const ENTRY_SPACING_MS = 2500

export function historyShape(options: HistoryOptions): HistoryShape {
  const deleted = Math.round(options.liveObjects * (options.deletedPerLive ?? 0.1))
  const created = options.liveObjects + deleted
  const modifies = Math.max(0, options.entries - created - deleted)
  return { created, deleted, live: options.liveObjects, modifies, total: created + deleted + modifies, fields: FIELDS.length }
}

export function historyPk(index: number): string {
  return `h${index.toString(36).padStart(6, '0')}`
}

/** mulberry32: a small seeded generator, so every run writes the same history. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function fieldValue(field: string, index: number, revision: number): unknown {
  if (field === 'title') return `Note ${index} (rev ${revision})`
  if (field === 'body') return `Body of note ${index}, revision ${revision}: ${'lorem ipsum '.repeat(4)}`
  return (index * 7 + revision) % 1000
}

/**
 * The history, one session at a time (a session is one device's: it creates
 * `sessionSize` objects, edits them, one field per edit, and deletes about
 * one in eleven of them), in log order. Each object gets `modifies / created`
 * edits (the remainder spread over the first objects). `onSession` gets each
 * session's entries; the final state of every object is returned for
 * checking devices against it.
 */
export async function generateHistory(
  options: HistoryOptions,
  onSession: (entries: HistoryEntry[]) => Promise<void> | void,
  startMs = Date.now() - 40 * 24 * 3600 * 1000,
): Promise<{ shape: HistoryShape; finalState: Map<string, Record<string, unknown>> }> {
  const shape = historyShape(options)
  const writers = options.writers ?? 3
  const sessionSize = options.sessionSize ?? 100
  const next = random(13)
  const finalState = new Map<string, Record<string, unknown>>()
  // Which objects end deleted: spread evenly over the history.
  const deletedEvery = shape.deleted ? shape.created / shape.deleted : Infinity
  const isDeleted = (index: number) => shape.deleted > 0 && Math.floor((index + 1) / deletedEvery) > Math.floor(index / deletedEvery)
  const baseEdits = Math.floor(shape.modifies / shape.created)
  const extraEdits = shape.modifies - baseEdits * shape.created
  let sequence = 0
  const clock = () => (startMs + (sequence++) * ENTRY_SPACING_MS) * HLC_TICKS_PER_MS
  for (let first = 0, session = 0; first < shape.created; first += sessionSize, session += 1) {
    const writer = session % writers
    const last = Math.min(shape.created, first + sessionSize)
    const entries: HistoryEntry[] = []
    const push = (data: object) => entries.push({ writer, createdOn: clock(), data: JSON.stringify({ ...data, schemaVersion: SCHEMA_VERSION }) })
    for (let index = first; index < last; index += 1) {
      const value = makeNote(index)
      push({ operation: 'create', collection: 'note', pk: historyPk(index), value })
      finalState.set(historyPk(index), { ...value })
    }
    const maxEdits = baseEdits + (first < extraEdits ? 1 : 0)
    for (let round = 0; round < maxEdits + 1; round += 1) {
      for (let index = first; index < last; index += 1) {
        const edits = baseEdits + (index < extraEdits ? 1 : 0)
        if (round >= edits) continue
        const field = FIELDS[Math.floor(next() * FIELDS.length)]!
        const value = { [field]: fieldValue(field, index, round + 1) }
        push({ operation: 'modify', collection: 'note', pk: historyPk(index), value })
        Object.assign(finalState.get(historyPk(index))!, value)
      }
    }
    for (let index = first; index < last; index += 1) {
      if (isDeleted(index)) {
        push({ operation: 'delete', collection: 'note', pk: historyPk(index) })
        finalState.delete(historyPk(index))
      }
    }
    await onSession(entries)
  }
  return { shape, finalState }
}

/** A digest of a set of notes (pk, title, body, score), independent of the order they are read in. */
export function notesDigest(rows: Iterable<{ id: string; title: unknown; body: unknown; score: unknown }>): { count: number; digest: string } {
  const lines: string[] = []
  for (const row of rows) {
    lines.push(JSON.stringify([row.id, row.title, row.body, Number(row.score)]))
  }
  lines.sort()
  const hash = createHash('sha256')
  for (const line of lines) hash.update(line + '\n')
  return { count: lines.length, digest: hash.digest('hex').slice(0, 16) }
}
