// The few parts of `pg` this package uses (pg ships no types; @types/pg is
// not a dependency, so that consumers do not need it either).
declare module 'pg' {
  interface QueryResult<Row = any> {
    rows: Row[]
    rowCount: number | null
  }
  interface Queryable {
    query<Row = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
  }
  interface PoolClient extends Queryable {
    release(destroy?: boolean | Error): void
  }
  interface PoolConfig {
    connectionString?: string
    max?: number
    connectionTimeoutMillis?: number
  }
  class Pool implements Queryable {
    constructor(config?: PoolConfig)
    query<Row = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    connect(): Promise<PoolClient>
    end(): Promise<void>
    on(event: 'error', listener: (error: Error) => void): this
  }
  class Client implements Queryable {
    constructor(config?: { connectionString?: string; connectionTimeoutMillis?: number })
    query<Row = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    connect(): Promise<void>
    end(): Promise<void>
  }
  const pg: { Pool: typeof Pool; Client: typeof Client }
  export default pg
  export type { QueryResult, PoolClient, PoolConfig }
}
