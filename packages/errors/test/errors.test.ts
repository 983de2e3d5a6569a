import { describe, expect, it } from 'vitest'
import { SyncError, isSyncError } from '@storex-sync/errors'

class ExampleError extends SyncError {
  constructor(code: string, message: string, cause?: unknown) {
    super('@storex-sync/example', code, message, { cause })
  }
}

describe('SyncError', () => {
  it('prefixes the message with the package and keeps code and cause', () => {
    const cause = new Error('disk full')
    const error = new ExampleError('WRITE_FAILED', 'could not write; free some space and retry', cause)
    expect(error).toBeInstanceOf(SyncError)
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('ExampleError')
    expect(error.code).toBe('WRITE_FAILED')
    expect(error.cause).toBe(cause)
    expect(error.message).toBe('@storex-sync/example: could not write; free some space and retry')
  })

  it('is recognised by isSyncError, plain errors are not', () => {
    expect(isSyncError(new ExampleError('X', 'y'))).toBe(true)
    expect(isSyncError(new Error('plain'))).toBe(false)
    expect(isSyncError('string')).toBe(false)
  })
})
