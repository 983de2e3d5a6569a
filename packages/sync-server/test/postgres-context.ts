import { createPostgresDatabase, findPostgresUrl } from '@storex-sync/test-backends'

/**
 * Finds the PostgreSQL server for this file's tests: `{ url }`, or
 * `{ skipReason }` (printed) when none answers and the connection variable
 * is not set. With the variable set and no server, this throws: CI never skips.
 */
export async function findPostgres(label: string): Promise<{ url: string } | { skipReason: string }> {
  const found = await findPostgresUrl()
  if ('skipReason' in found) {
    console.warn(`[sync-server] skipping ${label}: ${found.skipReason}`)
  }
  return found
}

export { createPostgresDatabase }
