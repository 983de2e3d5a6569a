import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { HttpSharedSyncLog } from '@storex-sync/shared-sync-log-http'
import { startBrowserExample } from '../server'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', '.test-output')
const skip = !existsSync(CHROMIUM) && !process.env['CI']
if (skip) {
  console.log(`skipped: the browser bootstrap test needs Chromium at ${CHROMIUM} (apt-get install chromium); .ci/run installs it`)
}

const ITEMS = 300

describe.skipIf(skip)('examples/browser: a new device starts from the server’s copy', () => {
  let example: Awaited<ReturnType<typeof startBrowserExample>>
  let browser: Browser
  let userDataDir: string

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true })
    example = await startBrowserExample()
    userDataDir = await mkdtemp(join(tmpdir(), 'storex-sync-chromium-'))
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, env: { ...process.env, HOME: userDataDir } })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await example?.close()
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true })
  })

  it(`loads ${ITEMS} items with their history compacted, page by page with a progress bar, in creation order`, async () => {
    // Another device of the user (here: the HTTP client in Node) wrote items and edited each twice:
    // three entries per item in the log, one object per item in the snapshot.
    const log = new HttpSharedSyncLog({ url: example.syncUrl + '/sync', token: example.token })
    const writer = await log.createDeviceId({ userId: example.userId })
    const start = Date.now()
    const id = (index: number) => `${(start + index).toString(36).padStart(9, '0')}-item-${index}`
    let clock = start * 1000
    const entry = (data: object) => ({ createdOn: clock++, data: JSON.stringify(data) })
    const creates = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'create', collection: 'item', pk: id(index), value: { title: `item ${index}`, done: false } }))
    const renames = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'modify', collection: 'item', pk: id(index), value: { title: `Item ${index}` } }))
    const ticks = Array.from({ length: ITEMS }, (_, index) => entry({ operation: 'modify', collection: 'item', pk: id(index), value: { done: index % 3 === 0 } }))
    for (const batch of [creates, renames, ticks]) await log.writeEntries(batch, { userId: example.userId, deviceId: writer })

    const context = await browser.newContext()
    const page: Page = await context.newPage()
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
    await page.goto(example.url)
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
