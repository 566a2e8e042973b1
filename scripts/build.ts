/**
 * `npm run build`: dist/runner (x64) and dist/runner-arm64, single executables
 * of the CLI bundled into the pinned Node runtime. See packaging/README.md.
 *
 *   dist/runner.cjs            the bundle (runs under any node >= 20 too)
 *   dist/runner, runner-arm64  the executables; never strip them
 *   dist/THIRD-PARTY-LICENSES  notices for everything inside them
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli, bundledPackages } from './build/bundle.ts';
import { BUNDLE_ASSET, CACHE_ASSET, trainCodeCache } from './build/code-cache.ts';
import { elfMachine, seaFuseState } from './build/elf.ts';
import { gitCommit } from './build/git-commit.ts';
import { thirdPartyNotice } from './build/licenses.ts';
import { type Arch, ensureNodeRuntime, NODE_RUNTIMES } from './build/node-runtime.ts';
import { generateSeaBlob, injectSeaBlob, seaConfig } from './build/sea.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const cacheDir = process.env['RUNNER_NODE_CACHE'] ?? join(root, '.cache', 'node-runtime');

const TARGETS: { arch: Arch; file: string; machine: string }[] = [
  { arch: 'x64', file: 'runner', machine: 'x86-64' },
  { arch: 'arm64', file: 'runner-arm64', machine: 'aarch64' },
];

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

const main = async (): Promise<void> => {
  mkdirSync(join(dist, '.sea'), { recursive: true });
  process.chdir(root); // the SEA config holds paths relative to the root, so the blob is path-independent

  const commit = gitCommit(root);
  const metafile = await bundleCli({ entry: 'scripts/sea-entry.ts', outfile: 'dist/runner.cjs', commit });

  const nodes = {
    x64: ensureNodeRuntime(NODE_RUNTIMES.x64, cacheDir),
    arm64: ensureNodeRuntime(NODE_RUNTIMES.arm64, cacheDir),
  };
  // The x64 executable runs the bundle through a loader with a code cache
  // trained on this x64 host by the x64 node (scripts/build/code-cache.ts);
  // the arm64 blob is the bundle alone, with no V8 data, as it is generated
  // here too, on another CPU (see seaConfig). Both need the node of the same
  // version as the target's.
  trainCodeCache(nodes.x64, 'dist/runner.cjs', 'dist/.sea/runner.js', 'dist/.sea/runner.cache');
  const blobs = {
    x64: seaConfig('scripts/build/sea-loader.cjs', 'dist/.sea/runner-x64.blob', {
      assets: { [BUNDLE_ASSET]: 'dist/.sea/runner.js', [CACHE_ASSET]: 'dist/.sea/runner.cache' },
    }),
    arm64: seaConfig('dist/runner.cjs', 'dist/.sea/runner-arm64.blob'),
  };
  generateSeaBlob(nodes.x64, 'dist/.sea/sea-config-x64.json', blobs.x64);
  generateSeaBlob(nodes.x64, 'dist/.sea/sea-config-arm64.json', blobs.arm64);

  for (const target of TARGETS) {
    const out = join(dist, target.file);
    await injectSeaBlob(nodes[target.arch], blobs[target.arch].output, out);
    const bytes = readFileSync(out);
    const machine = elfMachine(bytes);
    if (machine !== target.machine) throw new Error(`${out}: ELF machine ${machine}, expected ${target.machine}`);
    if (seaFuseState(bytes) !== 'injected') throw new Error(`${out}: the SEA fuse was not flipped`);
    const size = (statSync(out).size / 2 ** 20).toFixed(1);
    process.stdout.write(
      `${target.file}  ${size} MiB  sha256 ${sha256(out)}  (node ${NODE_RUNTIMES[target.arch].version}, commit ${commit})\n`,
    );
  }

  const nodeLicense = readFileSync(join(nodes.x64, '..', '..', 'LICENSE'), 'utf8');
  writeFileSync(join(dist, 'THIRD-PARTY-LICENSES'), thirdPartyNotice(nodeLicense, bundledPackages(metafile), root));
};

await main();
