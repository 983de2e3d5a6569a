import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ERROR_STATUS, HttpSharedSyncLog, ROUTES, SharedSyncLogAuthError, SharedSyncLogHttpError } from '../src/index'

// The client alone, against a bare node:http server that plays the protocol:
// the package has no server dependency (the full client + server pair is tested
// in @storex-sync/sync-server).

let server: Server | undefined
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

async function serve(handler: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<string> {
  server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => handler(request, body, response))
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('HttpSharedSyncLog without a server package', () => {
  it('refuses missing options with INVALID_OPTION', () => {
    expect(() => new HttpSharedSyncLog({} as any)).toThrow(SharedSyncLogHttpError)
    expect(() => new HttpSharedSyncLog({ url: 'ftp://x' , token: 't' })).toThrow(/http:\/\/ or https:\/\//)
    expect(() => new HttpSharedSyncLog({ url: 'http://127.0.0.1:1' })).toThrow(/needs credentials/)
  })

  it('posts JSON with the bearer token to the protocol route and returns the answer', async () => {
    const seen: Array<{ url?: string; auth?: string; body: unknown }> = []
    const url = await serve((request, body, response) => {
      seen.push({ url: request.url, auth: request.headers.authorization, body: JSON.parse(body) })
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ deviceId: 'd1' }))
    })
    const client = new HttpSharedSyncLog({ url, token: 'a-token-0123456789-0123456789-0123', retries: 0 })
    expect(await client.createDeviceId({ userId: 'u', sharedUntil: 5 })).toBe('d1')
    expect(seen).toEqual([{ url: ROUTES.createDevice, auth: 'Bearer a-token-0123456789-0123456789-0123', body: { sharedUntil: 5 } }])
  })

  it('turns a 401 into UNAUTHENTICATED with the status, without retrying', async () => {
    let calls = 0
    const url = await serve((_request, _body, response) => {
      calls += 1
      response.statusCode = 401
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'the token has expired' } }))
    })
    const client = new HttpSharedSyncLog({ url, token: 'a-token-0123456789-0123456789-0123', retries: 3, backoff: { initialMs: 1, maxMs: 2 } })
    const error = await client.getDeviceInfo({ userId: 'u', deviceId: 'd1' }).catch((e) => e)
    expect(error).toBeInstanceOf(SharedSyncLogHttpError)
    expect(error.code).toBe('UNAUTHENTICATED')
    expect(error.status).toBe(401)
    expect(error.message).toMatch(/the token has expired/)
    expect(calls).toBe(1)
  })

  it('keeps the codes of the server\'s table and turns a code it does not know into HTTP_ERROR / SERVER_ERROR, naming it', async () => {
    const answers = [
      { status: 429, code: 'QUOTA_DEVICES' },
      { status: 422, code: 'SOMETHING_NEWER' },
      { status: 502, code: 'UPSTREAM_GONE' },
    ]
    let next = 0
    const url = await serve((_request, _body, response) => {
      const answer = answers[next++]!
      response.statusCode = answer.status
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ error: { code: answer.code, message: 'no' } }))
    })
    const client = new HttpSharedSyncLog({ url, token: 'a-token-0123456789-0123456789-0123', retries: 0 })
    const errors: SharedSyncLogHttpError[] = []
    for (let i = 0; i < answers.length; i += 1) errors.push(await client.getDeviceInfo({ userId: 'u', deviceId: 'd1' }).catch((e) => e))
    expect(ERROR_STATUS.QUOTA_DEVICES).toBe(429)
    expect(errors.map((error) => [error.code, error.status])).toEqual([
      ['QUOTA_DEVICES', 429],
      ['HTTP_ERROR', 422],
      ['SERVER_ERROR', 502],
    ])
    expect(errors[1]!.message).toContain('SOMETHING_NEWER')
    expect(errors[2]!.message).toContain('UPSTREAM_GONE')
  })

  it('refuses bad setToken() and subscribe() arguments with INVALID_ARGUMENT', () => {
    const client = new HttpSharedSyncLog({ url: 'http://127.0.0.1:1', token: 'a-token-0123456789-0123456789-0123' })
    expect(() => client.setToken('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => client.subscribe({ userId: 'u', deviceId: 'd', onChange: 'x' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

describe('setToken', () => {
  it('sends the new token from then on', async () => {
    const seen: string[] = []
    const url = await serve((request, _body, response) => {
      seen.push(String(request.headers.authorization))
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ device: null }))
    })
    const client = new HttpSharedSyncLog({ url, token: 'first-token-0123456789-0123456789', retries: 0 })
    await client.getDeviceInfo({ userId: 'u', deviceId: 'd' })
    client.setToken('second-token-0123456789-0123456789')
    await client.getDeviceInfo({ userId: 'u', deviceId: 'd' })
    expect(seen).toEqual(['Bearer first-token-0123456789-0123456789', 'Bearer second-token-0123456789-0123456789'])
    expect(() => client.setToken('')).toThrow(SharedSyncLogHttpError)
  })
})

describe('subscribe (live updates over Server-Sent Events)', () => {
  it('calls onChange on ready and on change events, and reconnects after the server drops the stream', async () => {
    const connections: ServerResponse[] = []
    const url = await serve((request, body, response) => {
      expect(request.url).toBe(ROUTES.events)
      expect(JSON.parse(body)).toEqual({ deviceId: 'd1' })
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write('event: ready\ndata: {}\n\n')
      connections.push(response)
    })
    const client = new HttpSharedSyncLog({ url, token: 'a-token-0123456789-0123456789-0123', backoff: { initialMs: 10, maxMs: 20 } })
    let changes = 0
    const states: string[] = []
    const stop = client.subscribe({ userId: 'u', deviceId: 'd1', onChange: () => (changes += 1), onStateChange: (state) => states.push(state) })
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(check()).toBe(true)
    }
    try {
      await until(() => changes === 1)
      connections[0]!.write(': ping\n\nevent: change\ndata: {"from":"d2"}\n\n')
      await until(() => changes === 2)
      connections[0]!.end() // the server goes away; the client comes back and catches up
      await until(() => connections.length === 2 && changes === 3)
      expect(states).toEqual(['connected', 'disconnected', 'connected'])
    } finally {
      stop()
      for (const connection of connections) connection.end()
    }
  })

  it('stops and reports a SharedSyncLogAuthError on a 401', async () => {
    let calls = 0
    const url = await serve((_request, _body, response) => {
      calls += 1
      response.statusCode = 401
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'the token has expired', reason: 'token_expired' } }))
    })
    const client = new HttpSharedSyncLog({ url, token: 'a-token-0123456789-0123456789-0123', backoff: { initialMs: 5, maxMs: 10 } })
    const error = await new Promise<any>((resolve) => client.subscribe({ userId: 'u', deviceId: 'd1', onChange: () => {}, onError: resolve }))
    expect(error).toBeInstanceOf(SharedSyncLogAuthError)
    expect(error.reason).toBe('token_expired')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(calls).toBe(1)
  })
})
