export type DialectName = 'sqlite' | 'postgres' | 'mysql'

export interface Dialect {
  name: DialectName
  quote(identifier: string): string
  /** The placeholder for the parameter just pushed (1-based position). */
  placeholder(position: number): string
  /** Most rows one multi-row INSERT carries, for a table of `columnCount` columns. */
  maxRows(columnCount: number): number
}

function quoteWith(char: string) {
  const doubled = char + char
  const cache = new Map<string, string>()
  return (identifier: string) => {
    let quoted = cache.get(identifier)
    if (quoted === undefined) {
      quoted = char + identifier.split(char).join(doubled) + char
      cache.set(identifier, quoted)
    }
    return quoted
  }
}

export function makeDialect(name: DialectName): Dialect {
  // SQLite allows 32766 parameters per statement, PostgreSQL 65535; mysql2
  // inlines values client-side, so the packet size is its limit. Stay well below.
  const maxParams = name === 'sqlite' ? 30_000 : name === 'postgres' ? 60_000 : 20_000
  return {
    name,
    quote: quoteWith(name === 'mysql' ? '`' : '"'),
    placeholder: name === 'postgres' ? (position) => `$${position}` : () => '?',
    maxRows: (columnCount) => Math.max(1, Math.min(1000, Math.floor(maxParams / Math.max(1, columnCount)))),
  }
}
