import { afterEach, describe, expect, it } from 'vitest'
import { diagnoseSync, type SyncFindingCode } from '@storex-sync/sync-orchestrator'
import { clientBackends } from '@storex-sync/test-backends'
import { createTestDevice, type TestDevice } from './devices'
import { RefusingSharedSyncLog } from './refusing-log'

const USER = 'user-1'
const HOUR = 3_600_000

describe.each(clientBackends.map((backend) => backend.kind))('the sync doctor on %s', (kind) => {
  let devices: TestDevice[] = []
  afterEach(async () => {
    await Promise.all(devices.map((device) => device.storage.cleanup()))
    devices = []
  })

  async function setup() {
    const log = new RefusingSharedSyncLog()
    const a = await createTestDevice({ name: 'a', kind, sharedSyncLog: log, userId: USER, startTime: Date.now() })
    const b = await createTestDevice({ name: 'b', kind, sharedSyncLog: log, userId: USER, startTime: Date.now() })
    devices.push(a, b)
    const diagnose = (device: TestDevice, extra: Partial<Parameters<typeof diagnoseSync>[0]> = {}) =>
      diagnoseSync({ clientSyncLog: device.clientSyncLog, sharedSyncLog: log, userId: USER, deviceId: device.deviceId, ...extra })
    return { log, a, b, diagnose }
  }
  const codes = (diagnosis: { findings: Array<{ code: SyncFindingCode }> }) => diagnosis.findings.map((finding) => finding.code)

  it('tells a device retired by compaction that its next sync sends its changes and starts again from a snapshot', async () => {
    const { log, a, b, diagnose } = await setup()
    await a.storageManager.collection('note').createObject({ title: 'one' })
    await a.sync()
    await a.sync()
    await log.inner.compact({ userId: USER, retentionMs: 0, now: Date.now() + HOUR })
    const diagnosis = await diagnose(b)
    expect(codes(diagnosis)).toContain('DEVICE_RETIRED')
    expect(diagnosis.findings.find((finding) => finding.code === 'DEVICE_RETIRED')).toMatchObject({ severity: 'waiting', message: expect.stringMatching(/away longer/) })
    expect(codes(await diagnose(a))).not.toContain('DEVICE_RETIRED')
  })

  it('a device that is in sync has no findings', async () => {
    const { a, b, diagnose } = await setup()
    await a.storageManager.collection('note').createObject({ title: 'one' })
    await a.sync()
    await b.sync()
    expect(await diagnose(a)).toMatchObject({ inSync: true, findings: [] })
    expect((await diagnose(b)).inSync).toBe(true)
  })

  it('names changes waiting to be sent with their age, refused changes, and received changes not applied', async () => {
    const { log, a, b, diagnose } = await setup()
    const notes = a.storageManager.collection('note')
    a.clock.now = Date.now() - 2 * HOUR
    await notes.createObject({ title: 'old' })
    const waiting = await diagnose(a)
    expect(codes(waiting)).toEqual(['UNSENT_ENTRIES'])
    expect(waiting.findings[0]!.message).toBe('1 change made on this device has not been sent yet; the oldest is 2 hours old.')
    expect(waiting.findings[0]!.severity).toBe('waiting')

    log.maxWriteBytes = 3000
    await notes.createObject({ title: 'big', body: 'x'.repeat(6000) })
    await a.sync()
    const refused = await diagnose(a)
    expect(codes(refused)).toEqual(['OUTGOING_QUARANTINE'])
    expect(refused.findings[0]!.message).toMatch(/^1 item on this device could not be uploaded and is kept only here: 1 change too large for the server \(up to 6 KB\)\.$/)

    await b.sync({ stages: { integrate: false } })
    const pending = await diagnose(b)
    expect(codes(pending)).toEqual(['INTEGRATION_PENDING'])
    expect(pending.findings[0]!.message).toBe('1 change received from other devices is not applied here yet.')
  })

  it('names received changes set aside, written by a newer app', async () => {
    const { log, b, diagnose } = await setup()
    const rogue = await log.inner.createDeviceId({ userId: USER })
    await log.inner.writeEntries([{ createdOn: 5, data: JSON.stringify({ operation: 'create', collection: 'future', pk: 'x', value: {} }) }], { userId: USER, deviceId: rogue })
    await b.sync()
    const diagnosis = await diagnose(b)
    expect(codes(diagnosis)).toEqual(['INCOMING_QUARANTINE'])
    expect(diagnosis.findings[0]!.message).toBe('1 change from other devices could not be used here and was set aside (1 written by a newer version of the app).')
  })

  it('reads the last error of each stage from ContinuousSync, and tells a refused sign-in', async () => {
    const { log, a, diagnose } = await setup()
    await a.storageManager.collection('note').createObject({ title: 'one' })
    const continuous = a.continuousSync
    log.failNextWrite = Object.assign(new Error('server answered 401 UNAUTHENTICATED: the token is not valid'), { code: 'UNAUTHENTICATED', status: 401 })
    await expect(continuous.syncNow()).rejects.toThrow(/401/)
    expect(Object.keys(continuous.status.stageErrors)).toEqual(['share'])
    const diagnosis = await diagnose(a, { continuousSync: continuous })
    expect(codes(diagnosis)).toEqual(['UNSENT_ENTRIES', 'STAGE_FAILED', 'NOT_SYNCING', 'AUTH_REFUSED'])
    expect(diagnosis.findings[1]!.message).toMatch(/^Sending changes from this device failed \d+ seconds? ago: the sync server refused the sign-in\.$/)
    expect(diagnosis.findings[3]!.message).toMatch(/refused this device’s sign-in/)
    // After a successful sync the stage error is gone.
    await continuous.syncNow()
    expect(continuous.status.stageErrors).toEqual({})
    expect(continuous.status.outgoingQuarantined).toBe(0)
    continuous.start()
    expect((await diagnose(a, { continuousSync: continuous })).inSync).toBe(true)
    await continuous.stop()
  })

  it('asks the shared log: a clock far off, a device it does not know, a server it cannot reach, a refused sign-in', async () => {
    const { log, a, diagnose } = await setup()
    log.serverTimeOffsetMs = -3 * HOUR
    const clock = await diagnose(a)
    expect(codes(clock)).toEqual(['CLOCK_OFF'])
    expect(clock.findings[0]!.message).toBe('This device’s clock is 3 hours ahead of the server’s.')
    log.serverTimeOffsetMs = 0

    const unknown = await diagnoseSync({ clientSyncLog: a.clientSyncLog, sharedSyncLog: log, userId: USER, deviceId: 999 })
    expect(codes(unknown)).toEqual(['DEVICE_UNKNOWN'])

    log.failReads = Object.assign(new Error('could not reach the sync server (ECONNREFUSED)'), { code: 'NETWORK_ERROR' })
    expect(codes(await diagnose(a))).toEqual(['SERVER_UNREACHABLE'])
    log.failReads = Object.assign(new Error('server answered 401 UNAUTHENTICATED'), { code: 'UNAUTHENTICATED', status: 401 })
    expect(codes(await diagnose(a))).toEqual(['AUTH_REFUSED'])
    // Without probing, only local state is read.
    expect((await diagnose(a, { probe: false })).inSync).toBe(true)
  })
})
