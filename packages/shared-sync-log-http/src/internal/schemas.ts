import { z } from 'zod'

export interface SchemaLimits {
  maxEntriesPerWrite: number
}

const deviceId = z.union([z.number(), z.string().min(1).max(256)], {
  error: 'deviceId must be a number or a non-empty string (the id createDeviceId returned)',
})
const now = z.union([z.number(), z.literal('$now')], { error: 'now must be a number (ms) or "$now"' })

export function createSchemas(limits: SchemaLimits) {
  return {
    createDevice: z.strictObject({ sharedUntil: z.number().nullable().optional() }),
    deviceInfo: z.strictObject({ deviceId }),
    writeEntries: z.strictObject({
      deviceId,
      entries: z
        .array(z.strictObject({ createdOn: z.number(), data: z.string() }))
        .max(limits.maxEntriesPerWrite, `at most ${limits.maxEntriesPerWrite} entries per write; send them in several writes`),
      now: now.optional(),
      extraSentInfo: z.unknown().optional(),
    }),
    unsyncedEntries: z.strictObject({ deviceId, batchSize: z.number().int().min(1).optional() }),
    markAsSeen: z.strictObject({ deviceId, memo: z.unknown(), now: now.optional() }),
    info: z.strictObject({}),
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
