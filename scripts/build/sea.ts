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
}

/**
 * The SEA config for a CommonJS bundle. Snapshot and code cache stay off: both
 * are V8 data for the machine that generates the blob, and Node's docs require
 * them off when the blob is generated on another platform than it runs on (we
 * generate the arm64 blob on x64). Without them the blob is the script plus a
 * small header, the same bytes for every architecture (the tests check this).
 */
export const seaConfig = (main: string, output: string): SeaConfig => ({
  main,
  output,
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: false,
});

/**
 * Generates the blob with `node` (must be the same Node version as the one the
 * blob is injected into: the blob header is version-specific).
 */
export const generateSeaBlob = (node: string, configPath: string, config: SeaConfig): void => {
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  execFileSync(node, ['--experimental-sea-config', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
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
