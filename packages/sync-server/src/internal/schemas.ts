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
