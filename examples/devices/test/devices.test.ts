import { describe, expect, it } from 'vitest'
import { runDevicesExample } from '../src/devices'

describe('examples/devices', () => {
  it('ends with the three devices holding the same, merged notes', async () => {
    const lines: string[] = []
    const report = await runDevicesExample((line) => lines.push(line))
    expect(report.ok).toBe(true)
    expect(report.devices).toEqual(['phone', 'laptop', 'tablet'])
    // Per-field last writer wins; the delete beat the later edit.
    expect(report.notes).toEqual([
      { id: expect.any(String), title: 'Groceries (Saturday)', body: 'milk, eggs, bread', pinned: true },
    ])
    const output = lines.join('\n')
    expect(output).toContain('tablet  synced: sent 0, received 2')
    expect(output).toContain('All 3 devices hold identical notes.')
  })
})
