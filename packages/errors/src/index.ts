/**
 * The root of every error thrown by a @storex-sync package.
 *
 * `code` is stable and meant for programs (`err.code === 'DEVICE_ID_MISSING'`);
 * the message is for people: it starts with the package name and says what
 * to do about it.
 */
export class SyncError extends Error {
  readonly code: string
  readonly packageName: string

  constructor(packageName: string, code: string, message: string, options?: { cause?: unknown }) {
    super(`${packageName}: ${message}`, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = new.target.name
    this.code = code
    this.packageName = packageName
  }
}

/** True for any storex-sync error, also across duplicated copies of this package. */
export function isSyncError(error: unknown): error is SyncError {
  return (
    error instanceof SyncError ||
    (error instanceof Error && typeof (error as SyncError).code === 'string' && typeof (error as SyncError).packageName === 'string')
  )
}
