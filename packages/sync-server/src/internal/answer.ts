import type { FastifyReply } from 'fastify'
import { ERROR_STATUS, type ServerErrorCode } from '@storex-sync/shared-sync-log-http'

/**
 * Answers `{ error: { code, message, ...extra } }` with the status the
 * protocol's one table (`ERROR_STATUS`) gives the code, never cached.
 */
export function sendError(reply: FastifyReply, code: ServerErrorCode, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(ERROR_STATUS[code]).header('cache-control', 'no-store').send({ error: { code, message, ...extra } })
}

/** A refusal thrown inside a handler and answered with its code (bad input, quotas). */
export class AnsweredError extends Error {
  constructor(
    readonly code: ServerErrorCode,
    message: string,
  ) {
    super(message)
  }
}
