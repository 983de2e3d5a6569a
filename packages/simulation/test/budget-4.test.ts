import { describe, expect, it } from 'vitest'
import { formatFailure, simulate } from '../src'

// The CI budget is split over four files so vitest runs them in parallel.
describe('simulation budget, part 4 of 4', () => {
  it('seeds 181-240: every invariant holds', async () => {
    const summary = await simulate({ firstSeed: 181, count: 60 })
    if (summary.failures.length) {
      expect.fail(summary.failures.map(formatFailure).join('\n\n'))
    }
    expect(summary.passed).toBe(60)
    expect(summary.syncs).toBeGreaterThan(60)
  }, 240_000)
})
