import { Worker } from 'node:worker_threads';

/**
 * Starts src/desired/parse-worker.ts as a worker thread, from source, under
 * tsx (tests, `npm run runner`, the benchmarks). The single executable has
 * no source files to start a worker from: scripts/build/bundle.ts replaces
 * this module with one that starts the worker from its own bundle, embedded
 * as a string. Both export exactly this function.
 */
export const startParseWorker = (): Worker => {
  // A worker does not inherit the parent's module hooks: register tsx first.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./parse-worker.ts', import.meta.url).href);
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${entry}); });`, { eval: true });
};
