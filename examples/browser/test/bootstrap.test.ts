import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { chromiumMissing, OUTPUT, useExampleInChromium } from './chromium'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'

const skip = chromiumMissing('the browser bootstrap test')

const ITEMS = 300

describe.skipIf(skip)('examples/browser: a new device starts from the server’s copy', () => {
  const session = useExampleInChromium()


  it(`loads ${ITEMS} items with their history compacted, page by page with a progress bar, in creation order`, async () => {
    // Another device of the user (here: the HTTP client in Node) wrote items and edited each twice:
    // three entries per item in the log, one object per item in the snapshot.
    const log = new HttpSharedSyncLog({ url: session.example.syncUrl + '/sync', token: session.example.token })
    const writer = await log.createDeviceId({ userId: session.example.userId })
    const start = Date.now()
    const id = (index: number) => `${(start + index).toString(36).padStart(9, '0')}-item-${index}`
    let clock = start * 1000
    const entry = (data: object) => ({ createdOn: clock++, data: JSON.stringify(data) })
    const creates = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'create', collection: 'item', pk: id(index), value: { title: `item ${index}`, done: false } }))
    const renames = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'modify', collection: 'item', pk: id(index), value: { title: `Item ${index}` } }))
    const ticks = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'modify', collection: 'item', pk: id(index), value: { done: index % 3 === 0 } }))
    for (const batch of [creates, renames, ticks]) await log.writeEntries(batch, { userId: session.example.userId, deviceId: writer })

    const context = await session.browser.newContext()
    const page: Page = await context.newPage()
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
    await page.goto(session.example.url)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
    await expect.poll(() => page.evaluate(() => document.body.dataset['loaded'] ?? ''), { timeout: 30_000 }).toBe(`${ITEMS}/${ITEMS}`)
    // Pages of 100: the bar moved at least three times before it was full.
    expect(Number(await page.evaluate(() => document.body.dataset['loadingSteps']))).toBeGreaterThanOrEqual(3)
    await page.screenshot({ path: join(OUTPUT, 'bootstrap-progress.png') })
    await expect.poll(() => page.locator('#items li').count(), { timeout: 10_000 }).toBe(ITEMS)
    const titles = await page.$$eval('#items li .title', (inputs) => inputs.map((input) => (input as HTMLInputElement).value))
    expect(titles).toEqual(Array.from({ length: ITEMS }, (_, index) => `Item ${index}`))
    const ticked = await page.$$eval('#items li .done', (boxes) => boxes.map((box) => (box as HTMLInputElement).checked))
    expect(ticked).toEqual(Array.from({ length: ITEMS }, (_, index) => index % 3 === 0))
    await expect.poll(() => page.locator('#pending').innerText(), { timeout: 10_000 }).toBe('All saved and synced')
    await context.close()
  }, 90_000)
})
