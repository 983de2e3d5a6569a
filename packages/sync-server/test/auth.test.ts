import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { MemorySharedSyncLog } from '@storex-sync/shared-sync-log-core'
import { HttpSharedSyncLog, SharedSyncLogAuthError, isSyncAuthError } from '@storex-sync/shared-sync-log-http'
import { jwtAuthenticator, staticTokenAuthenticator, SyncServerError } from '../src/index'
import { startServer, type RunningServer } from './helpers'

const SECRET = 'a-development-secret-of-at-least-32-bytes!'
const ISSUER = 'https://auth.example.test/'
const AUDIENCE = 'storex-sync'

let server: RunningServer | undefined
let jwks: Server | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  await new Promise((resolve) => (jwks ? jwks.close(resolve) : resolve(undefined)))
  jwks = undefined
})

async function hsToken(claims: Record<string, unknown>, options: { exp?: string | number; iss?: string; aud?: string; secret?: string } = {}) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(options.iss ?? ISSUER).setAudience(options.aud ?? AUDIENCE)
  if (options.exp !== undefined) jwt = jwt.setExpirationTime(options.exp)
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET))
}

async function refusal(url: string, token: string) {
  const response = await fetch(`${url}/v1/devices/create`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' })
  return { status: response.status, body: (await response.json()) as { error: { code: string; message: string; reason?: string } } }
}

describe('jwtAuthenticator (HS256)', () => {
  it('accepts a valid token, the user taken from the configured claim', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userIdClaim: 'uid' }) })
    const alice = new HttpSharedSyncLog({ url: server.url, token: await hsToken({ uid: 'alice', sub: 'ignored' }, { exp: '5m' }), retries: 0 })
    const bob = new HttpSharedSyncLog({ url: server.url, token: await hsToken({ uid: 'bob' }, { exp: '5m' }), retries: 0 })
    const device = await alice.createDeviceId({ userId: 'alice' })
    expect(await alice.getDeviceInfo({ userId: 'alice', deviceId: device })).toEqual({ sharedUntil: null })
    expect(await bob.getDeviceInfo({ userId: 'bob', deviceId: device })).toBeNull()
  })

  it('says why a token is refused: expired, wrong audience, wrong issuer, bad signature, no expiry, no user claim, not a JWT', async () => {
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE }) })
    const now = Math.floor(Date.now() / 1000)
    const cases: Array<[string, string, RegExp, string]> = [
      ['expired', await hsToken({ sub: 'alice' }, { exp: now - 60 }), /expired/, 'token_expired'],
      ['wrong audience', await hsToken({ sub: 'alice' }, { exp: '5m', aud: 'another-service' }), /audience/, 'invalid_token'],
      ['wrong issuer', await hsToken({ sub: 'alice' }, { exp: '5m', iss: 'https://evil.test/' }), /issuer/, 'invalid_token'],
      ['bad signature', await hsToken({ sub: 'alice' }, { exp: '5m', secret: 'another-secret-that-is-also-32-bytes-long' }), /signature/, 'invalid_token'],
      ['no expiry', await hsToken({ sub: 'alice' }), /exp/, 'invalid_token'],
      ['no user claim', await hsToken({}, { exp: '5m' }), /"sub" claim/, 'invalid_token'],
      ['not a JWT', 'this-is-not-a-jwt-but-long-enough-0123456789', /not a valid JWT/, 'invalid_token'],
    ]
    for (const [name, token, message, reason] of cases) {
      const { status, body } = await refusal(server.url, token)
      expect([status, body.error.code, body.error.reason], name).toEqual([401, 'UNAUTHENTICATED', reason])
      expect(body.error.message, name).toMatch(message)
    }
  })

  it('the client turns a 401 into SharedSyncLogAuthError without retrying, and works again after setToken()', async () => {
    let attempts = 0
    server = await startServer({
      sharedSyncLog: new MemorySharedSyncLog(),
      authenticate: (() => {
        const verify = jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE })
        return (token: string) => {
          attempts += 1
          return verify(token)
        }
      })(),
    })
    const client = new HttpSharedSyncLog({ url: server.url, token: await hsToken({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 30 }), retries: 4, backoff: { initialMs: 1, maxMs: 2 } })
    const error = await client.createDeviceId({ userId: 'alice' }).catch((e) => e)
    expect(error).toBeInstanceOf(SharedSyncLogAuthError)
    expect([error.code, error.status, error.reason]).toEqual(['UNAUTHENTICATED', 401, 'token_expired'])
    expect(isSyncAuthError(new Error('wrapped', { cause: error }))).toBe(true)
    expect(attempts).toBe(1)
    client.setToken(await hsToken({ sub: 'alice' }, { exp: '5m' }))
    expect(await client.createDeviceId({ userId: 'alice' })).toBeDefined()
  })

  it('refuses weak set-ups: a short secret, no issuer/audience, short static tokens', () => {
    expect(() => jwtAuthenticator({ secret: 'short', issuer: ISSUER, audience: AUDIENCE })).toThrow(/at least 32/)
    expect(() => jwtAuthenticator({ secret: SECRET } as any)).toThrow(SyncServerError)
    expect(() => jwtAuthenticator({ secret: SECRET, jwksUrl: 'https://x.test/jwks', issuer: ISSUER, audience: AUDIENCE })).toThrow(/exactly one/)
    expect(() => staticTokenAuthenticator({ 'only-twenty-chars-xx': 'alice' })).toThrow(/shorter than 32 characters/)
  })
})

describe('jwtAuthenticator (JWKS URL)', () => {
  it('verifies tokens with the provider\'s keys and follows a key rotation', async () => {
    const first = await generateKeyPair('ES256')
    const second = await generateKeyPair('ES256')
    let keys = [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }]
    let fetches = 0
    jwks = createServer((_request, response) => {
      fetches += 1
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ keys }))
    })
    await new Promise<void>((resolve) => jwks!.listen(0, '127.0.0.1', resolve))
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`
    server = await startServer({ sharedSyncLog: new MemorySharedSyncLog(), authenticate: jwtAuthenticator({ jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 0 }) })
    const sign = (key: CryptoKey, kid: string) =>
      new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('5m').sign(key)

    const client = new HttpSharedSyncLog({ url: server.url, token: await sign(first.privateKey, 'k1'), retries: 0 })
    await client.createDeviceId({ userId: 'alice' })
    await client.createDeviceId({ userId: 'alice' })
    expect(fetches).toBe(1) // cached

    // the provider rotates: a new key id appears, the old one goes
    keys = [{ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }]
    client.setToken(await sign(second.privateKey, 'k2'))
    await client.createDeviceId({ userId: 'alice' })
    expect(fetches).toBe(2)

    // a token signed by a key the provider never published
    const rogue = await generateKeyPair('ES256')
    const { status, body } = await refusal(server.url, await sign(rogue.privateKey, 'k2'))
    expect([status, body.error.message]).toEqual([401, expect.stringMatching(/signature/)])
  })
})
