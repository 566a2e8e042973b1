'use strict';
// One training run (scripts/build/code-cache.ts): compiles WRAPPED as the
// executable's loader does, with the cache of the previous run if any, runs
// the CLI with ARGS, and at exit writes the code cache of everything compiled
// so far to CACHE_OUT. Usage: node FLAGS train-code-cache.cjs WRAPPED CACHE_IN|- CACHE_OUT ARGS...
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');

const [wrapped, cacheIn, cacheOut, ...args] = process.argv.slice(2);
const cachedData = cacheIn === '-' ? undefined : readFileSync(cacheIn);
const script = new Script(readFileSync(wrapped, 'latin1'), { filename: 'runner.cjs', cachedData });
if (cachedData !== undefined && script.cachedDataRejected) throw new Error(`V8 rejected the code cache ${cacheIn}`);
process.argv = [process.argv[0], 'runner', ...args];
process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()));
script.runInThisContext()(exports, require, module);
