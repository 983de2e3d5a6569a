import { diagnoseSync } from '@storex-sync/sync-orchestrator'
import { openSyncedStorage, type Item } from './sync-setup'

declare const __SYNC_CONFIG__: { url: string; token: string; userId: string }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

async function main() {
  // The sync server is reached through this page's own origin (/sync).
  const url = new URL(__SYNC_CONFIG__.url, location.href).toString()
  const { storageManager, clientSyncLog, continuousSync, sharedSyncLog, userId } = await openSyncedStorage({ ...__SYNC_CONFIG__, url })
  const items = storageManager.collection('item')

  async function renderConnection() {
    const identity = await clientSyncLog.getDeviceIdentity()
    // The device id is for tests and support, never shown: people think in devices, not numbers.
    document.body.dataset['deviceId'] = identity?.registered ? String(identity.deviceId) : ''
    $('connection').textContent = identity?.registered
      ? 'Connected to your account'
      : 'Not connected yet: your changes are kept on this device'
  }

  async function renderItems() {
    // Ids start with the time they were made (see sync-setup.ts): sorting by id lists items in the
    // order they were created, the same on every device.
    const all = ((await items.findObjects({})) as Item[]).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const list = $('items')
    const focused = document.activeElement?.closest('li')?.dataset['id']
    list.replaceChildren(
      ...all.map((item) => {
        const li = document.createElement('li')
        li.dataset['id'] = item.id
        li.classList.toggle('done', !!item.done)
        const done = Object.assign(document.createElement('input'), { type: 'checkbox', className: 'done', checked: !!item.done })
        done.addEventListener('change', () => write(() => items.updateObjects({ id: item.id }, { done: done.checked })))
        const title = Object.assign(document.createElement('input'), { className: 'title', value: item.title })
        title.addEventListener('change', () => write(() => items.updateObjects({ id: item.id }, { title: title.value })))
        const remove = Object.assign(document.createElement('button'), { className: 'delete', type: 'button', textContent: 'Delete' })
        remove.addEventListener('click', () => write(() => items.deleteObjects({ id: item.id })))
        li.append(done, title, Object.assign(document.createElement('span'), { className: 'sync-badge', hidden: true }))
        li.append(remove)
        return li
      }),
    )
    if (focused) list.querySelector<HTMLInputElement>(`li[data-id="${focused}"] .title`)?.focus()
    await renderBadges()
  }

  /** "not synced yet" next to each item with changes not sent yet (or refused by the server). */
  async function renderBadges() {
    const states = new Map((await clientSyncLog.getObjectSyncStates({ collection: 'item' })).map((state) => [state.pk, state]))
    for (const li of $('items').querySelectorAll<HTMLLIElement>('li')) {
      const badge = li.querySelector<HTMLSpanElement>('.sync-badge')!
      const state = states.get(li.dataset['id'])
      const text = state?.setAside ? 'could not be synced' : state?.unsent ? 'not synced yet' : ''
      badge.textContent = text
      badge.hidden = !text
      badge.classList.toggle('refused', !!state?.setAside)
    }
  }

  function renderStatus() {
    void renderConnection()
    const status = continuousSync.status
    const online = navigator.onLine
    $('network').textContent = online ? 'online' : 'offline'
    $('network').className = online ? 'online' : 'offline'
    $('sync-state').textContent = status.syncing
      ? 'Syncing…'
      : status.state === 'paused'
        ? 'Paused while offline'
        : status.state === 'stopped'
          ? 'Stopped'
          : status.consecutiveFailures
            ? `Could not sync; trying again${status.nextSyncAt ? ` at ${new Date(status.nextSyncAt).toLocaleTimeString()}` : ' soon'}`
            : 'Up to date'
    $('last-sync').textContent = status.lastSyncAt ? new Date(status.lastSyncAt).toLocaleTimeString() : 'not yet'
    $('pending').textContent = describePending(status.pendingChanges)
    const error = status.lastError
    $('last-error').textContent = error ? plainError(error) : ''
    $('error-details').textContent = error ? String((error as Error).message ?? error) : ''
    $<HTMLDetailsElement>('error-details-box').hidden = !error
  }

  // The first sync of a new device loads the user's data from the server's copy, page by page.
  continuousSync.on('syncProgress', (progress) => {
    if (progress.phase !== 'bootstrap' || !progress.objects) return
    const { done, total } = progress.objects
    $('loading').hidden = false
    $<HTMLProgressElement>('loading-bar').value = total ? done / total : 1
    $('loading-text').textContent = `Loading your data: ${done} of ${total ?? '?'} items`
    document.body.dataset['loadingSteps'] = String(Number(document.body.dataset['loadingSteps'] ?? 0) + 1)
    if (total !== null && done >= total) {
      document.body.dataset['loaded'] = `${done}/${total}`
      setTimeout(() => ($('loading').hidden = true), 1_500)
    }
  })

  // The sync doctor: every reason this device is not in sync, in plain words.
  let diagnosing = false
  async function renderHealth() {
    if (diagnosing) return
    diagnosing = true
    try {
      const diagnosis = await diagnoseSync({
        clientSyncLog,
        sharedSyncLog,
        userId,
        continuousSync,
        probe: navigator.onLine, // offline, only what this device knows
      })
      $('health').textContent = diagnosis.inSync ? 'Everything is in sync.' : 'Not in sync:'
      $('findings').replaceChildren(
        ...diagnosis.findings.map((finding) => {
          const li = document.createElement('li')
          li.className = finding.severity
          li.dataset['code'] = finding.code
          li.textContent = `${finding.message} ${finding.advice}`
          return li
        }),
      )
    } catch (error) {
      $('health').textContent = `Could not check: ${(error as Error).message}`
    } finally {
      diagnosing = false
    }
  }

  async function write(change: () => Promise<unknown>) {
    await change()
    await renderItems()
    renderStatus()
  }

  $('add-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const input = $<HTMLInputElement>('new-title')
    const title = input.value.trim()
    if (!title) return
    input.value = ''
    void write(() => items.createObject({ title, done: false }))
  })
  $('sync-now').addEventListener('click', () => void continuousSync.syncNow().catch(() => {}))

  // Another tab's writes, and changes a sync applied (in this tab or another), show at once; so do the badges
  // of items a sync sent (or set aside), in this tab or another. Badges change in place: an item being edited keeps its text.
  clientSyncLog.onChange((change) => {
    if (change.kind === 'sent') {
      void renderBadges()
    } else if (change.origin === 'other-instance' || change.kind === 'integrated') {
      void renderItems().then(renderStatus)
    }
  })
  continuousSync.on('started', renderStatus)
  continuousSync.on('finished', () => void renderItems().then(renderStatus).then(renderHealth))
  continuousSync.on('error', () => {
    renderStatus()
    void renderHealth()
  })
  // Offline: no point in trying; back online: sync at once.
  window.addEventListener('offline', () => {
    continuousSync.pause()
    renderStatus()
  })
  window.addEventListener('online', () => {
    continuousSync.resume()
    renderStatus()
  })
  // The status (pending changes, last sync) is read again every second.
  setInterval(() => void continuousSync.getStatus().then(renderStatus), 1_000)
  setInterval(() => void renderHealth(), 3_000)

  await renderItems()
  continuousSync.start()
  if (!navigator.onLine) continuousSync.pause()
  renderStatus()
  await renderHealth()
  document.body.dataset['ready'] = 'true'
}

/** What waits to be sent or applied, in words. */
function describePending(pending: { unshared: number; needsIntegration: number } | null): string {
  if (!pending) return '…'
  if (!pending.unshared && !pending.needsIntegration) return 'All saved and synced'
  const parts: string[] = []
  if (pending.unshared) parts.push(`${pending.unshared} ${pending.unshared === 1 ? 'change' : 'changes'} not synced yet`)
  if (pending.needsIntegration) parts.push(`${pending.needsIntegration} ${pending.needsIntegration === 1 ? 'change' : 'changes'} from your other devices arriving`)
  return parts.join(', ')
}

/** The error of the last sync as the person using the app needs it; the library's message stays in Details. */
function plainError(error: unknown): string {
  const { code, status } = error as { code?: string; status?: number }
  if (!navigator.onLine || code === 'NETWORK_ERROR' || code === 'TIMEOUT' || (error instanceof TypeError && /fetch/i.test(error.message))) {
    return 'Could not reach the sync server. Your changes are kept on this device and sent when it is back.'
  }
  if (status === 401 || code === 'UNAUTHENTICATED') return 'Your sign-in has expired. Sign in again to keep syncing.'
  if (typeof status === 'number' && status >= 500) return 'The sync server has a problem right now. Syncing resumes by itself.'
  return 'Syncing did not work this time. It is tried again by itself.'
}

main().catch((error) => {
  $('last-error').textContent = 'The app could not start. Reload the page to try again.'
  $('error-details').textContent = String((error as Error)?.message ?? error)
  $<HTMLDetailsElement>('error-details-box').hidden = false
  console.error(error)
})
