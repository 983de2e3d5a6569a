export { CustomAutoPkMiddleware } from './middleware'
export type {
  CustomAutoPkMiddlewareOptions,
  CustomAutoPkSetupOptions,
  CustomPkGenerator,
  StorageMiddlewareContext,
} from './middleware'
export { CustomPkError } from './errors'
export type { CustomPkErrorCode } from './errors'
