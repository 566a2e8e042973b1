#!/usr/bin/env node
// Entry point of the `runner` executable (and of the single-executable bundle).
import { exitQuietlyWhenPipeCloses } from './closed-pipe.ts';
import { runMain } from './run-main.ts';

exitQuietlyWhenPipeCloses(process.stdout);
exitQuietlyWhenPipeCloses(process.stderr);
process.exitCode = await runMain(process.argv.slice(2));
