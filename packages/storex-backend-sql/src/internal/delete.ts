import type { Dialect } from './dialect'
import type { Gen, RunResult } from './runner'
import type { CollectionInfo } from './schema'
import { compileWhere } from './where'

export function* deleteGen(dialect: Dialect, info: CollectionInfo, where: any): Gen<RunResult> {
  const params: unknown[] = []
  let text = `DELETE FROM ${dialect.quote(info.table)}`
  const condition = compileWhere(where, info, dialect, params)
  if (condition) text += ` WHERE ${condition}`
  return yield { sql: text, params, kind: 'run' }
}
