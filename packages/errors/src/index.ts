/**
 * The root of every error thrown by a @storex-sync package.
 *
 * `code` is stable and meant for programs (`err.code === 'DEVICE_ID_MISSING'`);
 * the message is for people: it starts with the package name and says what
 * to do about it.
 */
export class SyncError<Code extends string = string> extends Error {
  readonly code: Code
  readonly packageName: string
  /** The message without the package name in front: for a UI's details line, an HTTP answer, a CLI. */
  readonly detail: string

  constructor(packageName: string, code: Code, message: string, options?: { cause?: unknown }) {
    super(`${packageName}: ${message}`, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = new.target.name
    this.code = code
    this.packageName = packageName
    this.detail = message
  }
}

/**
 * The error class of one package, so each package's class is one line:
 * `export class ClientSyncLogError extends syncErrorClass<ClientSyncLogErrorCode>('@storex-sync/client-sync-log') {}`.
 */
export function syncErrorClass<Code extends string>(packageName: string) {
  return class PackageSyncError extends SyncError<Code> {
    constructor(code: Code, message: string, options?: { cause?: unknown }) {
      super(packageName, code, message, options)
    }
  }
}

/**
 * What an error says without the package name in front: `detail` of a
 * storex-sync error (also from another copy of this package), else the message.
 */
export function errorDetail(error: unknown): string {
  if (error && typeof (error as SyncError).detail === 'string') return (error as SyncError).detail
  if (isSyncError(error)) {
    const prefix = `${error.packageName}: `
    return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
  }
  return String((error as Error)?.message ?? error)
}

/** True for any storex-sync error, also across duplicated copies of this package. */
export function isSyncError(error: unknown): error is SyncError {
  return (
    error instanceof SyncError ||
    (error instanceof Error && typeof (error as SyncError).code === 'string' && typeof (error as SyncError).packageName === 'string')
  )
}
