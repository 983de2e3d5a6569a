import { expect, it } from 'vitest'
import { formatFailure, simulate, type SimulationSchema } from '../src'
import type { ReconcilerFunction } from '@storex-sync/client-sync-log'
import { reconcileSyncLog } from '@storex-sync/reconciliation'

// The README's example, kept running.
it('runs on a user schema with a user reconciler (README example)', async () => {
  const schema: SimulationSchema = {
    collections: {
      todo: {
        version: new Date('2025-01-01'),
        fields: {
          text: { type: 'string' },
          done: { type: 'boolean' },
          priority: { type: 'int', optional: true },
        },
      },
      // Registered on every device but not synced.
      draft: { version: new Date('2025-01-01'), fields: { text: { type: 'text' } } },
    },
    syncedCollections: ['todo'],
  }
  let calls = 0
  const reconciler: ReconcilerFunction = (entries, options) => {
    calls += 1
    return reconcileSyncLog(entries, options)
  }
  const summary = await simulate({ schema, reconciler, count: 10, devices: 4, firstSeed: 1 })
  if (summary.failures.length) throw new Error(formatFailure(summary.failures[0]!))
  expect(summary.passed).toBe(10)
  expect(calls).toBeGreaterThan(0)
}, 120_000)
