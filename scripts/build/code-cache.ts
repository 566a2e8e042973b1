/**
 * The x64 executable's trained V8 code cache. The SEA's own `useCodeCache`
 * compiles the bundle without running it, so its cache holds the top level
 * only, and every function a command calls (esbuild's module initialisers
 * included) is parsed and compiled at each start. Here the bundle is run
 * instead, under the pinned node with the executable's V8 flags, on a few
 * commands, and V8's cache of all it compiled is embedded beside the bundle;
 * scripts/build/sea-loader.cjs runs it. Measured with Node 24.21 on a 100-pod
 * status: see bench/RESULTS.md ("runner status with 100 pods").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CODE_CACHE_GENERATOR_FLAGS, SEA_EXEC_ARGV } from './sea.ts';

/** The loader's asset names (scripts/build/sea-loader.cjs reads them). */
export const BUNDLE_ASSET = 'runner.js';
export const CACHE_ASSET = 'runner.cache';

const TRAINER = fileURLToPath(new URL('train-code-cache.cjs', import.meta.url));
/** A status document with pods in every state, rewritten below into one a live daemon (this process) wrote. */
const STATUS_FIXTURE = fileURLToPath(new URL('../../test/fixtures/status/mixed.json', import.meta.url));

/**
 * The bundle as one function expression, the form the loader and the trainer
 * both compile: V8 accepts a cache only for the very same source.
 */
export const wrapBundle = (source: string): string => `(function (exports, require, module) {${source}\n})`;

/**
 * The commands the cache is trained on: the bare start and a live status
 * (table, JSON, one pod's detail), with a config file that sets keys (its
 * YAML and schema are on every command's path). Nothing here may call
 * podman: the build machine need not have it.
 */
const trainingRuns = (dir: string): string[][] => {
  const config = ['--config', join(dir, 'config.yaml')];
  return [['--version'], ['status', ...config], ['status', '--json', ...config], ['status', 'api', ...config]];
};

const writeTrainingState = (dir: string): void => {
  const doc = JSON.parse(readFileSync(STATUS_FIXTURE, 'utf8')) as { daemon: Record<string, unknown> };
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  doc.daemon = { ...doc.daemon, pid: process.pid, bootId, updatedAt: Date.now(), heartbeatSeconds: 86400 };
  writeFileSync(join(dir, 'status.json'), JSON.stringify(doc));
  writeFileSync(join(dir, 'config.yaml'), `stateDir: ${dir}\nmanifestDir: ${join(dir, 'manifests')}\n`);
};

/**
 * Writes `wrappedOut` (the bundle, wrapped) and `cacheOut` (its trained code
 * cache). `node` must be the executable's own node (same V8); the flags are
 * the executable's plus a fixed random seed, as for the SEA's own cache (V8
 * rejects a cache made under other flags, and the seed keeps builds
 * byte-identical).
 */
export const trainCodeCache = (node: string, bundle: string, wrappedOut: string, cacheOut: string): void => {
  writeFileSync(wrappedOut, wrapBundle(readFileSync(bundle, 'utf8')));
  const dir = mkdtempSync(join(tmpdir(), 'runner-train-'));
  try {
    writeTrainingState(dir);
    let previous = '-';
    for (const [index, args] of trainingRuns(dir).entries()) {
      const out = join(dir, `cache-${index}`);
      try {
        execFileSync(
          node,
          [...SEA_EXEC_ARGV, ...CODE_CACHE_GENERATOR_FLAGS, TRAINER, wrappedOut, previous, out, ...args],
          { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
        );
      } catch (error) {
        // A degraded status exits 1 (the fixture has crash loops); anything else is a failed run.
        const status = (error as { status?: number }).status;
        if (status !== 1)
          throw new Error(
            `code cache training run ${args.join(' ')} failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`,
            { cause: error },
          );
      }
      previous = out;
    }
    writeFileSync(cacheOut, readFileSync(previous));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
