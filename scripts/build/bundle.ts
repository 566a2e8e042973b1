/**
 * Bundles the CLI into one CommonJS file: a SEA's `require` can load only
 * built-in modules, so every dependency must be inside the bundle.
 */
import { build, type Metafile } from 'esbuild';

export interface BundleOptions {
  entry: string;
  outfile: string;
  /** Short git sha reported by `runner --version` (src/shared/version.ts). */
  commit: string;
}

export const bundleCli = async (options: BundleOptions): Promise<Metafile> => {
  const result = await build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    define: {
      __RUNNER_COMMIT__: JSON.stringify(options.commit),
      // consola reads import.meta.env only when process.env is missing, which
      // never happens in Node; CJS has no import.meta, so say so explicitly.
      'import.meta.env': 'undefined',
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  if (result.warnings.length > 0) {
    // A warning here (e.g. an unresolvable dynamic require) means a broken
    // binary later, at run time, where it is harder to see.
    throw new Error(`esbuild reported ${result.warnings.length} warning(s); see above`);
  }
  return result.metafile;
};

/**
 * The directories (relative to the working directory) of the npm packages
 * whose code ended up in the bundle, nested copies included, sorted: what the
 * third-party licence notice must cover.
 */
export const bundledPackages = (metafile: Metafile): string[] => {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    // Greedy prefix: the innermost node_modules/ owns the file.
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1] !== undefined) dirs.add(match[1]);
  }
  return [...dirs].sort();
};
