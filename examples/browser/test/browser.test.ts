import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startBrowserExample } from '../server'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', '.test-output')

// In CI the test always runs (and fails if Chromium is missing); elsewhere it needs Debian's chromium.
const skip = !existsSync(CHROMIUM) && !process.env['CI']
if (skip) {
  console.log(`skipped: the browser test needs Chromium at ${CHROMIUM} (apt-get install chromium); .ci/run installs it`)
}

type Shown = { title: string; done: boolean }

async function itemsOn(page: Page): Promise<Shown[]> {
  return page.$$eval('#items li', (rows) =>
    rows.map((row) => ({
      title: (row.querySelector('.title') as HTMLInputElement).value,
      done: (row.querySelector('.done') as HTMLInputElement).checked,
    })),
  )
}

async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  await page.goto(url)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
  return page
}

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText()

describe.skipIf(skip)('examples/browser in Chromium', () => {
  let example: Awaited<ReturnType<typeof startBrowserExample>>
  let browser: Browser
  let userDataDir: string

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true })
    example = await startBrowserExample()
    userDataDir = await mkdtemp(join(tmpdir(), 'storex-sync-chromium-'))
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // launch() gives Chromium a fresh temporary --user-data-dir of its own (it refuses one in args);
      // HOME points at an empty folder too, so nothing of this machine's profile is read.
      args: FLAGS,
      env: { ...process.env, HOME: userDataDir },
    })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await example?.close()
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true })
  })

  it('syncs two devices, resolves offline edits the same way on both, and keeps the data over a reload', async () => {
    // Two browser contexts: separate IndexedDB and localStorage, i.e. two devices of one user.
    const contextA = await browser.newContext()
    const contextB = await browser.newContext()
    const a = await open(contextA, example.url)
    const b = await open(contextB, example.url)
    expect(await text(a, 'device')).not.toBe(await text(b, 'device'))

    // Add an item on A; it reaches B.
    await a.fill('#new-title', 'Milk')
    await a.click('#add')
    await expect.poll(() => itemsOn(a)).toEqual([{ title: 'Milk', done: false }])
    await expect.poll(() => text(a, 'pending'), { timeout: 10_000 }).toBe('0 to send, 0 to apply')
    await b.click('#sync-now')
    await expect.poll(() => itemsOn(b), { timeout: 10_000 }).toEqual([{ title: 'Milk', done: false }])

    // B goes offline; both edit the item; B's rename comes later, so it wins; the done flag merges.
    await contextB.setOffline(true)
    await expect.poll(() => text(b, 'network')).toBe('offline')
    await a.locator('#items li .title').fill('Milk (A)')
    await a.locator('#items li .title').press('Enter')
    await expect.poll(() => text(a, 'pending'), { timeout: 10_000 }).toBe('0 to send, 0 to apply')
    await b.locator('#items li .done').check()
    await b.locator('#items li .title').fill('Oat milk')
    await b.locator('#items li .title').press('Enter')
    await b.click('#sync-now') // offline: fails and shows the error
    await expect.poll(() => text(b, 'last-error'), { timeout: 10_000 }).not.toBe('')
    await expect.poll(() => text(b, 'pending')).toBe('2 to send, 0 to apply')
    // The sync doctor says why, in plain words.
    await expect.poll(() => text(b, 'health'), { timeout: 10_000 }).toBe('Not in sync:')
    await expect.poll(() => text(b, 'findings'), { timeout: 10_000 }).toMatch(/2 changes made on this device have not been sent yet; the oldest is \d+ seconds? old\./)
    expect(await text(b, 'findings')).toMatch(/Automatic sync is paused/)
    await b.screenshot({ path: join(OUTPUT, 'device-b-offline.png') })

    await contextB.setOffline(false)
    await expect.poll(() => text(b, 'network')).toBe('online')
    await expect.poll(() => text(b, 'pending'), { timeout: 15_000 }).toBe('0 to send, 0 to apply')
    await a.click('#sync-now')
    const resolved = [{ title: 'Oat milk', done: true }]
    await expect.poll(() => itemsOn(a), { timeout: 10_000 }).toEqual(resolved)
    await expect.poll(() => itemsOn(b), { timeout: 10_000 }).toEqual(resolved)
    await expect.poll(() => text(b, 'last-error')).toBe('')
    await expect.poll(() => text(b, 'health'), { timeout: 10_000 }).toBe('Everything is in sync.')

    // The data lives in IndexedDB: a reload shows it without waiting for a sync.
    await a.reload()
    await b.reload()
    await a.waitForSelector('body[data-ready="true"]')
    await b.waitForSelector('body[data-ready="true"]')
    expect(await itemsOn(a)).toEqual(resolved)
    expect(await itemsOn(b)).toEqual(resolved)

    await a.screenshot({ path: join(OUTPUT, 'device-a.png') })
    await b.screenshot({ path: join(OUTPUT, 'device-b.png') })
    await contextA.close()
    await contextB.close()
  }, 90_000)
})
