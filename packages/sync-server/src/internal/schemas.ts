import { z } from 'zod'
import { checkClockValue } from '@storex-sync/client-sync-log'

export interface SchemaLimits {
  maxEntriesPerWrite: number
  /** How far ahead of the server's clock a createdOn may lie (ms); default that of client-sync-log (24 hours). */
  maxClockDriftMs?: number
}

const deviceId = z.union([z.number(), z.string().min(1).max(256)], {
  error: 'deviceId must be a number or a non-empty string (the id createDeviceId returned)',
})
const now = z.union([z.number(), z.literal('$now')], { error: 'now must be a number (ms) or "$now"' })

/** A createdOn the devices can use: a safe non-negative integer, not further ahead of the server's clock than the maximum drift. */
function clockValue(limits: SchemaLimits) {
  return z.number().superRefine((value, context) => {
    const problem = checkClockValue(value, { now: Date.now(), maxClockDriftMs: limits.maxClockDriftMs })
    if (problem) {
      context.addIssue({ code: 'custom', message: `${problem.message}; fix the device's clock and write again` })
    }
  })
}

export function createSchemas(limits: SchemaLimits) {
  return {
    createDevice: z.strictObject({ sharedUntil: z.number().nullable().optional() }),
    deviceInfo: z.strictObject({ deviceId }),
    writeEntries: z.strictObject({
      deviceId,
      entries: z
        .array(z.strictObject({ createdOn: clockValue(limits), data: z.string() }))
        .max(limits.maxEntriesPerWrite, `at most ${limits.maxEntriesPerWrite} entries per write; send them in several writes`),
      now: now.optional(),
      extraSentInfo: z.unknown().optional(),
    }),
    unsyncedEntries: z.strictObject({ deviceId, batchSize: z.number().int().min(1).optional() }),
    markAsSeen: z.strictObject({ deviceId, memo: z.unknown(), now: now.optional() }),
    info: z.strictObject({}),
    snapshot: z.strictObject({
      deviceId,
      cursor: z.string().max(4096).nullable().optional(),
      limit: z.number().int().min(1).optional(),
    }),
  }
}

/** One line per problem: `entries.0.createdOn: expected number, received string`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : 'body'
      return `${path}: ${issue.message}`
    })
    .join('; ')
}

/**
 * When every problem of an invalid write lies inside particular entries
 * (`entries.3.data: expected string`), names those entries by createdOn so
 * the client can set them aside and send the rest. Null otherwise.
 */
export function refusedEntriesOf(body: unknown, error: z.ZodError): Array<{ createdOn: number; reason: string; message: string }> | null {
  const entries = body && typeof body === 'object' ? (body as { entries?: unknown }).entries : undefined
  if (!Array.isArray(entries)) return null
  const byIndex = new Map<number, string[]>()
  for (const issue of error.issues) {
    const [first, index] = issue.path
    if (first !== 'entries' || typeof index !== 'number') return null
    const createdOn = (entries[index] as { createdOn?: unknown } | null)?.createdOn
    if (typeof createdOn !== 'number' || !Number.isFinite(createdOn)) return null
    byIndex.set(index, [...(byIndex.get(index) ?? []), `${issue.path.slice(2).join('.') || 'entry'}: ${issue.message}`])
  }
  if (!byIndex.size) return null
  return [...byIndex].map(([index, problems]) => ({
    createdOn: (entries[index] as { createdOn: number }).createdOn,
    reason: 'INVALID_ENTRY',
    message: `the server cannot store this entry (${problems.join('; ')})`,
  }))
}
