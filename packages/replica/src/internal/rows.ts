import type { ReplicaObjectRecord, ReplicaQuarantineRecord } from './schema'

type Operation = (name: string, context: Record<string, unknown>) => Promise<unknown>

const KEY_CHUNK = 500

/** The rows of these objects of one user, by objectKey, in chunks small enough for every backend. */
export async function findRows(operation: Operation, userId: string, keys: string[]): Promise<Map<string, ReplicaObjectRecord>> {
  const rows = new Map<string, ReplicaObjectRecord>()
  for (let index = 0; index < keys.length; index += KEY_CHUNK) {
    const part = keys.slice(index, index + KEY_CHUNK)
    for (const row of (await operation('findObjectsByKeys', { userId, keys: part })) as ReplicaObjectRecord[]) {
      rows.set(row.objectKey, row)
    }
  }
  return rows
}

/** The problems not already in the quarantine (an entry is kept aside once). */
export async function withoutKnownProblems(operation: Operation, userId: string, problems: ReplicaQuarantineRecord[]): Promise<ReplicaQuarantineRecord[]> {
  if (!problems.length) return []
  const found = (await operation('findQuarantineByKeys', { userId, keys: problems.map((problem) => problem.entryKey) })) as ReplicaQuarantineRecord[]
  const known = new Set(found.map((problem) => problem.entryKey))
  return problems.filter((problem) => !known.has(problem.entryKey))
}
