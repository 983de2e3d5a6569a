#!/usr/bin/env node
import { main } from './internal/cli-main'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error(error?.stack ?? error)
    process.exitCode = 2
  },
)
