'use strict';
// Main script of the x64 executable (scripts/build/code-cache.ts). It runs
// the bundle, stored as the asset `runner.js` already wrapped in a function,
// with the V8 code cache a training run left (asset `runner.cache`): bytecode
// of every function `--version` and `runner status` call, where the SEA's own
// code cache holds only the bundle's top level. A cache V8 rejects (another
// V8 or other flags) costs nothing but the saving: V8 compiles as usual.
// The bundle is read as latin1, a copy of its bytes, where decoding 1.5 MB of
// UTF-8 took several ms: esbuild escapes every non-ASCII character in code
// (its default charset), so only comments can hold any, and the trainer
// reads it the same way.
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

const script = new Script(Buffer.from(getRawAsset('runner.js')).toString('latin1'), {
  filename: 'runner.cjs',
  cachedData: new Uint8Array(getRawAsset('runner.cache')),
});
script.runInThisContext()(exports, require, module);
