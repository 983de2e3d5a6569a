import { ReplicaError } from '../errors'

/** What a page cursor carries: the snapshot's memo and totals stay the same on every page. */
export interface PageCursor {
  memo: unknown
  /** The objectKey of the last object handed out. */
  after: string
  totals: { objects: number; entries: number; bytes: number } | null
}

export function encodeCursor(cursor: PageCursor): string {
  return JSON.stringify({ v: 1, ...cursor })
}

export function decodeCursor(cursor: unknown): PageCursor {
  let parsed: Record<string, unknown> | null = null
  try {
    parsed = typeof cursor === 'string' ? (JSON.parse(cursor) as Record<string, unknown>) : null
  } catch {
    parsed = null
  }
  if (!parsed || parsed.v !== 1 || typeof parsed.after !== 'string') {
    throw new ReplicaError('INVALID_CURSOR', 'the cursor was not handed out by this replica; pass the `cursor` of the previous page unchanged, or none for the first page.')
  }
  return { memo: parsed.memo, after: parsed.after, totals: (parsed.totals as PageCursor['totals']) ?? null }
}

export function pageLimit(limit: unknown, fallback: number, max: number): number {
  if (limit === undefined) return fallback
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new ReplicaError('INVALID_ARGUMENT', `limit must be a positive whole number, got ${String(limit)}.`)
  }
  return Math.min(limit, max)
}
