import { syncErrorClass } from '@storex-sync/errors'

/** What a program can switch on; the package README's "Errors" table says what each one means and what to do. */
export type CustomPkErrorCode =
  | 'INVALID_OPTION'
  | 'UNKNOWN_COLLECTION'
  | 'UNSUPPORTED_PK'
  | 'SETUP_NOT_CALLED'
  | 'INVALID_PK'
  | 'UNSUPPORTED_RELATIONSHIP'

/** Error thrown by `@storex-sync/custom-pk`. */
export class CustomPkError extends syncErrorClass<CustomPkErrorCode>('@storex-sync/custom-pk') {}
