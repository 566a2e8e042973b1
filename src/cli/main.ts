#!/usr/bin/env node
// Entry point of the `runner` executable (and of the single-executable bundle).
import { runMain } from './run-main.ts';

process.exitCode = await runMain(process.argv.slice(2));
