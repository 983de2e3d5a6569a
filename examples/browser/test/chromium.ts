import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { chromium, type Browser } from 'playwright-core'
import { startBrowserExample } from '../server'

export const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']
/** Screenshots of the tests (not committed). */
export const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', '.test-output')

/** In CI the browser tests always run (and fail if Chromium is missing); elsewhere they need Debian's chromium. */
export function chromiumMissing(what: string): boolean {
  const missing = !existsSync(CHROMIUM) && !process.env['CI']
  if (missing) console.log(`skipped: ${what} needs Chromium at ${CHROMIUM} (apt-get install chromium); .ci/run installs it`)
  return missing
}

/**
 * Debian's Chromium, headless, with a fresh temporary profile: launch() gives it a --user-data-dir of its
 * own, and HOME points at an empty folder, so nothing of this machine's profile is read.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  mkdirSync(OUTPUT, { recursive: true })
  const home = await mkdtemp(join(tmpdir(), 'storex-sync-chromium-'))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, env: { ...process.env, HOME: home } })
  return {
    browser,
    async close() {
      await browser.close()
      await rm(home, { recursive: true, force: true })
    },
  }
}

/**
 * The example (sync server + page server) and Chromium, started once for the
 * calling describe block and closed after it; read them in the tests.
 */
export function useExampleInChromium(): { example: Awaited<ReturnType<typeof startBrowserExample>>; browser: Browser } {
  const session = {} as { example: Awaited<ReturnType<typeof startBrowserExample>>; browser: Browser }
  let launched: Awaited<ReturnType<typeof launchChromium>> | undefined
  beforeAll(async () => {
    session.example = await startBrowserExample()
    launched = await launchChromium()
    session.browser = launched.browser
  }, 120_000)
  afterAll(async () => {
    await launched?.close()
    await session.example?.close()
  })
  return session
}
