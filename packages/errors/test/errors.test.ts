import { describe, expect, it } from 'vitest'
import { SyncError, errorDetail, isSyncError, syncErrorClass } from '@storex-sync/errors'

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

  it('keeps the message without the package name as detail; errorDetail reads it from any error', () => {
    const error = new ExampleError('X', 'could not write; free some space')
    expect(error.detail).toBe('could not write; free some space')
    expect(errorDetail(error)).toBe('could not write; free some space')
    // A copy of this package from before `detail` existed: the prefix is taken off its message.
    const older = Object.assign(new Error('@storex-sync/other: it broke'), { code: 'BROKE', packageName: '@storex-sync/other' })
    expect(errorDetail(older)).toBe('it broke')
    expect(errorDetail(new Error('@storex-sync/look-alike: plain'))).toBe('@storex-sync/look-alike: plain')
    expect(errorDetail('just text')).toBe('just text')
  })
})

describe('syncErrorClass', () => {
  type ExampleCode = 'WRITE_FAILED' | 'INVALID_OPTION'
  class PackageError extends syncErrorClass<ExampleCode>('@storex-sync/example') {}

  it('makes a package\'s error class: its name, the package prefix, a typed code and the cause', () => {
    const cause = new Error('disk full')
    const error = new PackageError('WRITE_FAILED', 'could not write', { cause })
    expect(error).toBeInstanceOf(PackageError)
    expect(error).toBeInstanceOf(SyncError)
    expect(error.name).toBe('PackageError')
    expect(error.packageName).toBe('@storex-sync/example')
    expect(error.message).toBe('@storex-sync/example: could not write')
    expect(error.detail).toBe('could not write')
    expect(error.cause).toBe(cause)
    const code: ExampleCode = error.code
    expect(code).toBe('WRITE_FAILED')
    // @ts-expect-error a code outside the package's union does not compile
    expect(new PackageError('NOT_A_CODE', 'x').code).toBe('NOT_A_CODE')
  })
})
