#!/usr/bin/env node
import { runCli } from './internal/cli-main'

void runCli(process.argv.slice(2))
