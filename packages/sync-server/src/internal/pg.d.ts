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
    on(event: 'error', listener: (error: Error) => void): this
    removeListener(event: 'error', listener: (error: Error) => void): this
  }
  interface PoolConfig {
    connectionString?: string
    max?: number
    connectionTimeoutMillis?: number
    application_name?: string
  }
  class Pool implements Queryable {
    constructor(config?: PoolConfig)
    query<Row = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    connect(): Promise<PoolClient>
    end(): Promise<void>
    on(event: 'error', listener: (error: Error) => void): this
    on(event: 'connect', listener: (client: PoolClient) => void): this
    readonly totalCount: number
    readonly idleCount: number
    readonly waitingCount: number
  }
  class Client implements Queryable {
    constructor(config?: { connectionString?: string; connectionTimeoutMillis?: number; application_name?: string })
    query<Row = any>(text: string, values?: unknown[]): Promise<QueryResult<Row>>
    connect(): Promise<void>
    end(): Promise<void>
    on(event: 'error', listener: (error: Error) => void): this
    on(event: 'end', listener: () => void): this
    on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): this
  }
  const pg: { Pool: typeof Pool; Client: typeof Client }
  export default pg
  export type { QueryResult, PoolClient, PoolConfig }
}
