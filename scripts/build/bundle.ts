/**
 * Bundles the CLI into one CommonJS file: a SEA's `require` can load only
 * built-in modules, so every dependency must be inside the bundle.
 */
import { build, type BuildResult, type Metafile, type Plugin } from 'esbuild';

export interface BundleOptions {
  entry: string;
  outfile: string;
  /** Short git sha reported by `runner --version` (src/shared/version.ts). */
  commit: string;
}

/** Where the manifest parse worker starts (src/desired/off-thread-parser.ts). */
const PARSE_WORKER_ENTRY = 'src/desired/parse-worker.ts';
/** The module that starts the worker from source; the bundle gets one that starts it from embedded code. */
const PARSE_WORKER_STARTER = /[\\/]src[\\/]desired[\\/]start-parse-worker\.ts$/;

/**
 * The parse worker, bundled on its own (CommonJS, every dependency inside),
 * to be run with `new Worker(code, { eval: true })`: a single executable has
 * no file to start a worker from, and the eval'd code needs nothing but
 * Node's built-in modules.
 */
const bundleParseWorker = async (): Promise<{ code: string; metafile: Metafile }> => {
  const result = await build({
    entryPoints: [PARSE_WORKER_ENTRY],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    write: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  failOnWarnings(result);
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild wrote no bundle for ${PARSE_WORKER_ENTRY}`);
  return { code: output.text, metafile: result.metafile };
};

/** Replaces src/desired/start-parse-worker.ts with a starter of `code`, exporting the same function. */
const embedParseWorker = (code: string): Plugin => ({
  name: 'embed-parse-worker',
  setup(plugin) {
    plugin.onLoad({ filter: PARSE_WORKER_STARTER }, () => ({
      loader: 'js',
      contents: `import { Worker } from 'node:worker_threads';\nexport const startParseWorker = () => new Worker(${JSON.stringify(code)}, { eval: true });\n`,
    }));
  },
});

const failOnWarnings = (result: BuildResult): void => {
  if (result.warnings.length > 0) {
    // A warning here (e.g. an unresolvable dynamic require) means a broken
    // binary later, at run time, where it is harder to see.
    throw new Error(`esbuild reported ${result.warnings.length} warning(s); see above`);
  }
};

export const bundleCli = async (options: BundleOptions): Promise<Metafile> => {
  const worker = await bundleParseWorker();
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
    plugins: [embedParseWorker(worker.code)],
  });
  failOnWarnings(result);
  // The worker's inputs count too: its packages are in the executable (as a string).
  return { ...result.metafile, inputs: { ...worker.metafile.inputs, ...result.metafile.inputs } };
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
