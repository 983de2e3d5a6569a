import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { chromiumMissing, OUTPUT, useExampleInChromium } from './chromium'

const skip = chromiumMissing('the browser test')

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
/** The registered device id the page keeps out of sight (for tests and support). */
const deviceIdOf = (page: Page) => page.evaluate(() => document.body.dataset['deviceId'] ?? '')
const badges = (page: Page) => page.$$eval('#items li', (rows) => rows.map((row) => row.querySelector('.sync-badge')?.textContent ?? ''))
const SYNCED = 'All saved and synced'

describe.skipIf(skip)('examples/browser in Chromium', () => {
  const session = useExampleInChromium()


  it('syncs two devices, resolves offline edits the same way on both, and keeps the data over a reload', async () => {
    // Two browser contexts: separate IndexedDB and localStorage, i.e. two devices of one user.
    const contextA = await session.browser.newContext()
    const contextB = await session.browser.newContext()
    const a = await open(contextA, session.example.url)
    const b = await open(contextB, session.example.url)
    await expect.poll(() => deviceIdOf(a), { timeout: 10_000 }).not.toBe('')
    await expect.poll(() => deviceIdOf(b), { timeout: 10_000 }).not.toBe('')
    expect(await deviceIdOf(a)).not.toBe(await deviceIdOf(b))
    // Plain words for people: no device number on the page.
    expect(await text(a, 'connection')).toBe('Connected to your account')
    expect(await a.locator('main').innerText()).not.toContain(await deviceIdOf(a))

    // Add an item on A; it reaches B.
    await a.fill('#new-title', 'Milk')
    await a.click('#add')
    await expect.poll(() => itemsOn(a)).toEqual([{ title: 'Milk', done: false }])
    await expect.poll(() => text(a, 'pending'), { timeout: 10_000 }).toBe(SYNCED)
    await b.click('#sync-now')
    await expect.poll(() => itemsOn(b), { timeout: 10_000 }).toEqual([{ title: 'Milk', done: false }])
    // Items keep the order they were created in (not alphabetical), on every device.
    await a.fill('#new-title', 'Apples')
    await a.click('#add')
    await b.click('#sync-now')
    await expect.poll(async () => (await itemsOn(b)).map((item) => item.title), { timeout: 10_000 }).toEqual(['Milk', 'Apples'])
    await a.locator('#items li').nth(1).locator('.delete').click()
    await expect.poll(() => text(a, 'pending'), { timeout: 10_000 }).toBe(SYNCED)
    await b.click('#sync-now')
    await expect.poll(() => itemsOn(b), { timeout: 10_000 }).toEqual([{ title: 'Milk', done: false }])

    // B goes offline; both edit the item; B's rename comes later, so it wins; the done flag merges.
    await contextB.setOffline(true)
    await expect.poll(() => text(b, 'network')).toBe('offline')
    await a.locator('#items li .title').fill('Milk (A)')
    await a.locator('#items li .title').press('Enter')
    await expect.poll(() => text(a, 'pending'), { timeout: 10_000 }).toBe(SYNCED)
    await b.locator('#items li .done').check()
    await b.locator('#items li .title').fill('Oat milk')
    await b.locator('#items li .title').press('Enter')
    await b.click('#sync-now') // offline: fails and shows the error
    await expect.poll(() => text(b, 'last-error'), { timeout: 10_000 }).toBe(
      'Could not reach the sync server. Your changes are kept on this device and sent when it is back.',
    )
    // The library's own message stays out of sight, in Details.
    expect(await b.locator('#error-details').textContent()).toMatch(/@storex-sync\/shared-sync-log-http/)
    await expect.poll(() => text(b, 'pending')).toBe('2 changes not synced yet')
    await expect.poll(() => badges(b), { timeout: 10_000 }).toEqual(['not synced yet'])
    await expect.poll(() => badges(a), { timeout: 10_000 }).toEqual([''])
    // The sync doctor says why, in plain words.
    await expect.poll(() => text(b, 'health'), { timeout: 10_000 }).toBe('Not in sync:')
    await expect.poll(() => text(b, 'findings'), { timeout: 10_000 }).toMatch(/2 changes made on this device have not been sent yet; the oldest is \d+ seconds? old\./)
    expect(await text(b, 'findings')).toMatch(/Automatic sync is paused/)
    await b.screenshot({ path: join(OUTPUT, 'device-b-offline.png') })

    await contextB.setOffline(false)
    await expect.poll(() => text(b, 'network')).toBe('online')
    await expect.poll(() => text(b, 'pending'), { timeout: 15_000 }).toBe(SYNCED)
    await expect.poll(() => badges(b), { timeout: 10_000 }).toEqual([''])
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

  it('two tabs of one device: bursts from both reach another device, and a tab shows the other tab’s change at once', async () => {
    const device = await session.browser.newContext()
    const other = await session.browser.newContext()
    const tab1 = await open(device, session.example.url)
    const tab2 = await open(device, session.example.url)
    const elsewhere = await open(other, session.example.url)
    await expect.poll(() => deviceIdOf(tab1), { timeout: 10_000 }).not.toBe('')
    await expect.poll(() => deviceIdOf(tab2), { timeout: 10_000 }).toBe(await deviceIdOf(tab1))
    const titles = async (page: Page) => (await itemsOn(page)).map((item) => item.title).sort()

    // The other tab shows a change within a second, without "Sync now".
    await tab1.fill('#new-title', 'Written in tab 1')
    await tab1.click('#add')
    await expect.poll(async () => (await itemsOn(tab2)).map((item) => item.title), { timeout: 1_000 }).toContain('Written in tab 1')

    // Both tabs add items at the same time.
    const burst = async (tab: Page, name: string) => {
      for (let index = 0; index < 10; index += 1) {
        await tab.fill('#new-title', `${name} ${index}`)
        await tab.click('#add')
      }
    }
    await Promise.all([burst(tab1, 'tab 1'), burst(tab2, 'tab 2')])
    const written = ['Written in tab 1', ...[1, 2].flatMap((tab) => Array.from({ length: 10 }, (_, index) => `tab ${tab} ${index}`))]
    await expect.poll(() => titles(tab1), { timeout: 10_000 }).toEqual(expect.arrayContaining(written))
    await expect.poll(() => text(tab1, 'pending'), { timeout: 15_000 }).toBe(SYNCED)
    await expect.poll(() => text(tab2, 'pending'), { timeout: 15_000 }).toBe(SYNCED)
    // No item is left marked "not synced yet" in either tab, whichever tab sent it (the badges follow the log's 'sent' changes).
    const marked = async (tab: Page) => (await badges(tab)).filter((badge) => badge !== '')
    expect((await badges(tab2)).length).toBeGreaterThanOrEqual(written.length)
    await expect.poll(() => marked(tab1), { timeout: 5_000 }).toEqual([])
    await expect.poll(() => marked(tab2), { timeout: 5_000 }).toEqual([])
    await elsewhere.click('#sync-now')
    await expect.poll(() => titles(elsewhere), { timeout: 15_000 }).toEqual(expect.arrayContaining(written))
    await expect.poll(() => titles(elsewhere), { timeout: 15_000 }).toEqual(await titles(tab1))
    await tab2.screenshot({ path: join(OUTPUT, 'second-tab.png') })
    await device.close()
    await other.close()
  }, 90_000)

  it('first run offline: starts, keeps what is added, shows it has not reached the server, and syncs when the server appears', async () => {
    const device = await session.browser.newContext()
    // The sync server cannot be reached (the page itself loads from the app's origin, as from a service worker cache).
    await device.route('**/sync/**', (route) => route.abort('internetdisconnected'))
    const page = await open(device, session.example.url)
    await expect.poll(() => text(page, 'connection')).toBe('Not connected yet: your changes are kept on this device')
    for (const title of ['Bread', 'Butter']) {
      await page.fill('#new-title', title)
      await page.click('#add')
    }
    await expect.poll(async () => (await itemsOn(page)).map((item) => item.title)).toEqual(expect.arrayContaining(['Bread', 'Butter']))
    await expect.poll(() => text(page, 'pending'), { timeout: 10_000 }).toBe('2 changes not synced yet')
    await expect.poll(() => badges(page), { timeout: 10_000 }).toEqual(['not synced yet', 'not synced yet'])
    await page.screenshot({ path: join(OUTPUT, 'first-run-offline.png') })
    // Still there after a reload, still offline.
    await page.reload()
    await page.waitForSelector('body[data-ready="true"]')
    expect((await itemsOn(page)).map((item) => item.title)).toEqual(expect.arrayContaining(['Bread', 'Butter']))

    // The server appears: the next retry registers the device and sends what was written offline.
    await device.unroute('**/sync/**')
    await expect.poll(() => text(page, 'connection'), { timeout: 20_000 }).toBe('Connected to your account')
    await expect.poll(() => text(page, 'pending'), { timeout: 20_000 }).toBe(SYNCED)
    const other = await session.browser.newContext()
    const elsewhere = await open(other, session.example.url)
    await expect.poll(async () => (await itemsOn(elsewhere)).map((item) => item.title), { timeout: 15_000 }).toEqual(
      expect.arrayContaining(['Bread', 'Butter']),
    )
    await device.close()
    await other.close()
  }, 90_000)
})
