import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AnsweredError } from './answer'

/**
 * Bounds on what a request body may hold, checked before anything reaches a
 * log. A body outside them gets a 4xx and is never stored: nothing stored can
 * later fail to serialize for the user's other devices (the "poison pill").
 */
export interface InputLimits {
  /** Deepest nesting of arrays/objects in a body, the body itself being level 1 (default 32). */
  maxDepth: number
  /** Largest `extraSentInfo`, as JSON, in bytes (default 16 KiB): it is repeated on every entry of its write when read. */
  maxExtraSentInfoBytes: number
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxDepth: 32, maxExtraSentInfoBytes: 16 * 1024 }


const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Replaces Fastify's JSON parser inside the sync plugin's scope with one that
 * accepts only UTF-8 (a `charset` other than utf-8 is 415; invalid or overlong
 * UTF-8 is 400, instead of being silently turned into U+FFFD), bounds the
 * nesting depth before parsing (so a deeply nested body can neither overflow
 * the parser's stack nor be stored), and then parses with Fastify's own
 * parser, which refuses `__proto__`/`constructor` poisoning.
 */
export function installJsonParser(app: FastifyInstance, limits: InputLimits, bodyLimit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, async (request: FastifyRequest, body: Buffer | string) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(String(request.headers['content-type'] ?? ''))?.[1]?.toLowerCase()
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new AnsweredError('UNSUPPORTED_MEDIA_TYPE', `the body must be UTF-8 JSON; "charset=${charset}" is not accepted (send "content-type: application/json" or "application/json; charset=utf-8")`)
    }
    // Large bodies are checked in steps, letting other requests run in between
    // (one user's 10,000-entry upload must not stall everyone else's requests).
    const large = body.length > 64 * 1024
    let text: string
    try {
      text = typeof body === 'string' ? body : utf8.decode(body)
    } catch {
      throw new AnsweredError('INVALID_TEXT', 'the body is not valid UTF-8 (invalid or overlong byte sequences); send JSON encoded as UTF-8')
    }
    if (large) await yieldToOthers()
    const depth = nestingDepth(text, limits.maxDepth)
    if (depth > limits.maxDepth) {
      throw new AnsweredError('TOO_DEEP', `the body nests arrays/objects deeper than ${limits.maxDepth} levels; flatten extraSentInfo or the memo`)
    }
    if (large) await yieldToOthers()
    return new Promise((resolve, reject) => parseJson(request, text, (error: Error | null, value?: unknown) => (error ? reject(error) : resolve(value))))
  })
}

/** Lets queued I/O callbacks (other requests) run before going on. */
export function yieldToOthers(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * The deepest nesting of `[`/`{` outside strings, scanning no further than
 * one level past `max`. Linear, no recursion, so any body is safe to scan.
 */
export function nestingDepth(text: string, max: number): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i += 1
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) {
      inString = true
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth += 1
      if (depth > deepest) {
        deepest = depth
        if (deepest > max) return deepest
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth -= 1
    }
  }
  return deepest
}

/**
 * Checks every string (keys too) of a parsed body: no lone UTF-16 surrogate
 * (it cannot be stored as UTF-8 and comes back as U+FFFD) and no NUL
 * character (PostgreSQL `text` cannot hold it; refused on every backend so
 * all of them store exactly what they accept). Returns the first problem.
 */
export function findTextProblem(value: unknown, path = 'body', depth = 0): string | null {
  if (depth > 64) return `${path}: nested too deeply`
  if (typeof value === 'string') return describeString(value, path)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const problem = findTextProblem(value[i], `${path}.${i}`, depth + 1)
      if (problem) return problem
    }
    return null
  }
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const keyProblem = describeString(key, `${path} (a key)`)
      if (keyProblem) return keyProblem
      const problem = findTextProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1)
      if (problem) return problem
    }
  }
  return null
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function describeString(text: string, path: string): string | null {
  if (LONE_SURROGATE.test(text)) {
    return `${path} holds a lone UTF-16 surrogate, which cannot be stored as text; send well-formed Unicode`
  }
  if (text.includes('\u0000')) {
    return `${path} holds the NUL character (U+0000), which the database cannot store; escape it (JSON.stringify of the entry does)`
  }
  return null
}

/** The byte size of a value as JSON (what a log stores for it). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')
}
