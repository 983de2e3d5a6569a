import { describe, expect, it } from 'vitest'
import { runDemo } from '../src/demo'

describe('pnpm demo', () => {
  it('ends with every device of each group holding the same, expected data', async () => {
    const lines: string[] = []
    const report = await runDemo((line) => lines.push(line))
    expect(report.ok).toBe(true)
    const alice = report.groups.find((group) => group.name === 'alice')!
    expect(alice.contents['note']).toEqual([expect.objectContaining({ title: 'Call the bank', done: false })])
    const catalogue = report.groups.find((group) => group.name === 'acme-catalogue')!
    expect(catalogue.contents['product']).toEqual([expect.objectContaining({ sku: 'K-100', priceCents: 2499 })])
    expect(lines.join('\n')).toContain('All databases are equal.')
  })
})
