/** An error, with up to three causes, each as the first lines of its stack. */
function errorText(error: unknown): string {
  const parts: string[] = []
  for (let current = error as any, depth = 0; current && depth < 4; current = current.cause, depth += 1) {
    parts.push(current?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(current))
  }
  return parts.join(' <- cause: ')
}

/**
 * Not one of the numbered invariants, but as bad: anything a sync throws that
 * is not an injected fault, any failing local write, any error of the final
 * round or the checks. `what` says where, e.g. "sync of d1 threw".
 */
export function unexpectedError(what: string, error: unknown): string {
  return `[unexpected error] ${what}: ${errorText(error)}`
}
