import { readFileSync, writeFileSync } from 'node:fs'

/**
 * The entry of a benchmark child process (see runBundledChild): reads its
 * parameters from the JSON file named first on the command line, runs, and
 * writes the result as JSON to the file named second; exits 1 on a failure.
 * Does nothing when the module is imported rather than run as a child.
 */
export function runAsChild<Params, Result>(run: (params: Params) => Promise<Result>): void {
  const [paramsPath, resultPath] = process.argv.slice(2)
  if (!paramsPath || !resultPath) return
  run(JSON.parse(readFileSync(paramsPath, 'utf8')) as Params).then(
    (result) => {
      writeFileSync(resultPath, JSON.stringify(result))
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
