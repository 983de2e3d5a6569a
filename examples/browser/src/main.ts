import { diagnoseSync } from '@storex-sync/sync-orchestrator'
import { openSyncedStorage, type Item } from './sync-setup'

declare const __SYNC_CONFIG__: { url: string; token: string; userId: string }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

async function main() {
  // The sync server is reached through this page's own origin (/sync).
  const url = new URL(__SYNC_CONFIG__.url, location.href).toString()
  const { storageManager, clientSyncLog, continuousSync, sharedSyncLog, userId } = await openSyncedStorage({ ...__SYNC_CONFIG__, url })
  const items = storageManager.collection('item')

  async function renderDevice() {
    const identity = await clientSyncLog.getDeviceIdentity()
    $('device').textContent = identity?.registered
      ? `device ${identity.deviceId}`
      : 'not connected to the sync server yet: your changes are kept on this device'
  }

  async function renderItems() {
    const all = ((await items.findObjects({})) as Item[]).sort((a, b) => a.id.localeCompare(b.id))
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
        li.append(done, title, remove)
        return li
      }),
    )
    if (focused) list.querySelector<HTMLInputElement>(`li[data-id="${focused}"] .title`)?.focus()
  }

  function renderStatus() {
    void renderDevice()
    const status = continuousSync.status
    const online = navigator.onLine
    $('network').textContent = online ? 'online' : 'offline'
    $('network').className = online ? 'online' : 'offline'
    $('sync-state').textContent = status.syncing
      ? 'syncing...'
      : status.consecutiveFailures
        ? `failed ${status.consecutiveFailures}x, retrying${status.nextSyncAt ? ` at ${new Date(status.nextSyncAt).toLocaleTimeString()}` : ''}`
        : status.state
    $('last-sync').textContent = status.lastSyncAt ? new Date(status.lastSyncAt).toLocaleTimeString() : 'never'
    const pending = status.pendingChanges
    $('pending').textContent = pending ? `${pending.unshared} to send, ${pending.needsIntegration} to apply` : '...'
    $('last-error').textContent = status.lastError ? String((status.lastError as Error).message ?? status.lastError) : ''
  }

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

  // Another tab's writes, and changes a sync applied (in this tab or another), show at once.
  clientSyncLog.onChange((change) => {
    if (change.origin === 'other-instance' || change.kind === 'integrated') {
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
  setInterval(() => void continuousSync.getStatus().then(renderStatus), 1_000)
  setInterval(() => void renderHealth(), 3_000)

  await renderItems()
  continuousSync.start()
  if (!navigator.onLine) continuousSync.pause()
  renderStatus()
  await renderHealth()
  document.body.dataset['ready'] = 'true'
}

main().catch((error) => {
  $('last-error').textContent = `Could not start: ${(error as Error).message}`
  console.error(error)
})
