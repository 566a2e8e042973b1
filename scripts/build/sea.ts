/**
 * Single-executable-application steps: write the SEA config, have the embedded
 * Node version generate the blob, and inject it into a copy of a node binary.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SEA_FUSE, SEA_RESOURCE } from './elf.ts';

export interface SeaConfig {
  main: string;
  output: string;
  disableExperimentalSEAWarning: boolean;
  useSnapshot: boolean;
  useCodeCache: boolean;
  execArgv: string[];
  execArgvExtension: 'none' | 'env' | 'cli';
}

/**
 * Node options the executable always starts with (the SEA `execArgv`, Node
 * >= 24.6). The young generation is capped at 1 MiB per semi-space: left to
 * itself V8 grows it towards 64 MiB per semi-space, and with 50 pods (10
 * crash-looping) the daemon's RSS climbed from 120 to 245 MiB between major
 * collections. With the cap: median RSS 118 MiB instead of 224, VmHWM 122
 * instead of 245, CPU 3.8 s/min instead of 4.4 (noise; 2 and 4 MiB were
 * within noise of 1). bench/SOAK.md has the runs. There is deliberately no
 * `--max-old-space-size`: a valid 9 MB manifest of one long value needs
 * about 360 MiB to parse (packaging/README.md).
 */
export const SEA_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The SEA config for a CommonJS bundle. The snapshot stays off; the code cache
 * (V8 bytecode of the bundle's top level, compiled at build time) is on only
 * when asked for, for the executable whose CPU the building machine has: both
 * are V8 data for the machine that generates the blob, and Node's docs require
 * them off when the blob is generated on another platform than it runs on (we
 * generate the arm64 blob on x64). Without them the blob is the script plus a
 * small header and the exec arguments, the same bytes for every architecture
 * (the tests check this). The code cache halves the executable's start:
 * `runner --version` 79 -> 45 ms (user CPU 44 -> 28 ms), hyperfine, Node
 * 24.21, 2026-12-03; every `runner status` pays that start.
 * `execArgvExtension: 'env'` (Node's default, spelled out) keeps NODE_OPTIONS
 * working for flags not in `execArgv`; for a flag that is in both, `execArgv`
 * wins (measured with Node 24.21).
 */
export const seaConfig = (main: string, output: string, options: { codeCache?: boolean } = {}): SeaConfig => ({
  main,
  output,
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: options.codeCache ?? false,
  execArgv: [...SEA_EXEC_ARGV],
  execArgvExtension: 'env',
});

/**
 * V8 flags for the node that generates a blob with a code cache: its bytes
 * depend on V8's random seed, so two builds of one commit would differ
 * (measured: 161,968 bytes of 1.7 MB). A fixed seed makes them identical, and
 * the executable still accepts the cache (its start is as fast). The seed
 * is the generating process's only: the executable draws its own at start.
 */
export const CODE_CACHE_GENERATOR_FLAGS: readonly string[] = ['--random-seed=1'];

/**
 * Generates the blob with `node` (must be the same Node version as the one the
 * blob is injected into: the blob header is version-specific).
 */
export const generateSeaBlob = (node: string, configPath: string, config: SeaConfig): void => {
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const flags = config.useCodeCache ? CODE_CACHE_GENERATOR_FLAGS : [];
  execFileSync(node, [...flags, '--experimental-sea-config', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
};

interface Postject {
  inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string }): Promise<void>;
}

/**
 * Copies `node` to `target` and injects `blob` into it. The copy is never
 * stripped: stripping drops the note postject adds, leaving a plain node.
 */
export const injectSeaBlob = async (node: string, blob: string, target: string): Promise<void> => {
  copyFileSync(node, target);
  chmodSync(target, 0o755);
  // postject is CommonJS without types; its API avoids spawning its CLI via npx.
  const postject = createRequire(import.meta.url)('postject') as Postject;
  await postject.inject(target, SEA_RESOURCE, readFileSync(blob), { sentinelFuse: SEA_FUSE });
};
