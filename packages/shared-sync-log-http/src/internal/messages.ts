export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as any).cause
    const code = inner?.code ?? (cause as any).code
    return code ? `${code}: ${inner?.message ?? cause.message}` : cause.message
  }
  return String(cause)
}
