import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildUnits, type BuildOptions } from '../../src/desired/build-units.ts';
import { INLINE_MAX_BYTES, OffThreadParser } from '../../src/desired/off-thread-parser.ts';
import { startParseWorker } from '../../src/desired/start-parse-worker.ts';
import { fingerprintOf } from '../../src/manifest/manifest-cache.ts';
import { parseManifest, type ParsedManifest } from '../../src/manifest/parse-manifest.ts';
import { DEFAULT_POLICY } from '../../src/policy/policy.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

const FILE = '/etc/runner/manifests/app.yaml';
const BUILD: BuildOptions = { defaultStopTimeoutSeconds: 7, pull: 'never' };
const PARSE = { policy: DEFAULT_POLICY };
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

/** What the main thread sees of a parse, getters read. */
const plain = (parsed: ParsedManifest): unknown => JSON.parse(JSON.stringify(parsed));

let clock: FakeClock;
let log: ReturnType<typeof memoryLogger>;
let parser: OffThreadParser | undefined;
let started: number;

const newParser = (startWorker: () => Worker = startParseWorker): OffThreadParser => {
  parser = new OffThreadParser({
    build: BUILD,
    clock,
    logger: log.logger,
    idleMs: 1_000,
    // Every file to the worker, however small; the test below has the default.
    inlineMaxBytes: 0,
    startWorker: () => {
      started += 1;
      return startWorker();
    },
  });
  return parser;
};

/** A worker that loads, then dies on its first request, as one that runs out of memory does. */
const dyingWorker = (): Worker =>
  new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.postMessage({ ready: true }); parentPort.on('message', () => process.exit(7));",
    { eval: true },
  );

beforeEach(() => {
  clock = new FakeClock();
  log = memoryLogger();
  parser = undefined;
  started = 0;
});

afterEach(async () => {
  await parser?.close();
});

describe('OffThreadParser', () => {
  const cases: [string, string][] = [
    ['a Pod', readManifestFixture('pod.yaml')],
    ['a ConfigMap with its Pod', readManifestFixture('configmap-and-pod.yaml')],
    ['a Deployment', readManifestFixture('deployment.yaml')],
    ['an invalid file', 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a}]}\n'],
    ['a file that is not YAML', 'kind: [\n'],
  ];
  for (const [what, text] of cases) {
    it(`parses ${what} as parseManifest does, and hands buildUnits the units rendered on the worker`, async () => {
      const expected = parseManifest(FILE, text, PARSE);
      const parsed = await newParser().parse(FILE, bytesOf(text), PARSE);
      assert.deepEqual(plain(parsed), plain(expected));
      assert.equal(fingerprintOf(parsed), fingerprintOf(expected));
      if (expected.problems.length === 0) assert.deepEqual(buildUnits(parsed, BUILD), buildUnits(expected, BUILD));
    });
  }

  it('parses a file of at most INLINE_MAX_BYTES where it is read, with no worker; a larger one on the worker', async () => {
    const off = new OffThreadParser({
      build: BUILD,
      clock,
      logger: log.logger,
      startWorker: () => {
        started += 1;
        return startParseWorker();
      },
    });
    parser = off;
    const small = readManifestFixture('pod.yaml');
    assert.ok(bytesOf(small).byteLength <= INLINE_MAX_BYTES);
    const parsed = await off.parse(FILE, bytesOf(small), PARSE);
    assert.deepEqual(plain(parsed), plain(parseManifest(FILE, small, PARSE)));
    assert.equal(started, 0);
    const large = `${small}${'#'.repeat(INLINE_MAX_BYTES)}\n`;
    const onWorker = await off.parse(FILE, bytesOf(large), PARSE);
    assert.deepEqual(plain(onWorker), plain(parseManifest(FILE, large, PARSE)));
    assert.equal(started, 1);
  });

  it('never decodes a document on the main thread unless asked', async () => {
    const parsed = await newParser().parse(FILE, bytesOf(readManifestFixture('configmap-and-pod.yaml')), PARSE);
    const units = buildUnits(parsed, BUILD);
    assert.equal(units.length, 1);
    for (const doc of parsed.documents)
      assert.equal(typeof Object.getOwnPropertyDescriptor(doc, 'object')?.get, 'function');
  });

  it('answers concurrent parses, each with its own file, on one worker', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const results = await Promise.all(
      names.map((name) =>
        newParserOnce().parse(
          `/m/${name}.yaml`,
          bytesOf(readManifestFixture('pod.yaml').replace('name: web\n  labels', `name: ${name}\n  labels`)),
          PARSE,
        ),
      ),
    );
    assert.deepEqual(
      results.map((result) => [result.file, result.documents[0]?.name]),
      names.map((name) => [`/m/${name}.yaml`, name]),
    );
    assert.equal(started, 1);
  });

  it('stops an idle worker and starts another for the next parse', async () => {
    const off = newParser();
    await off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE);
    await clock.advance(1_000);
    const again = await off.parse(FILE, bytesOf(readManifestFixture('deployment.yaml')), PARSE);
    assert.equal(again.documents[0]?.kind, 'Deployment');
    assert.equal(started, 2);
  });

  it('a worker that cannot start: parses on the main thread, with one warning', async () => {
    const off = newParser(() => new Worker('throw new Error("no workers here")', { eval: true }));
    const first = await off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE);
    const second = await off.parse(FILE, bytesOf(readManifestFixture('deployment.yaml')), PARSE);
    assert.deepEqual(plain(first), plain(parseManifest(FILE, readManifestFixture('pod.yaml'), PARSE)));
    assert.equal(second.documents[0]?.kind, 'Deployment');
    assert.equal(started, 1);
    assert.equal(log.lines.filter((line) => line.level === 'warn').length, 1);
  });

  it('a worker that dies on a file: that file has a problem, and the next parse gets a new worker', async () => {
    let count = 0;
    const off = newParser(() => (count++ === 0 ? dyingWorker() : startParseWorker()));
    const failed = await off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE);
    assert.deepEqual(failed.documents, []);
    assert.match(
      failed.problems[0]?.message ?? '',
      /could not be parsed: the parser failed on it \(the parse worker exited with code 7\)/,
    );
    const next = await off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE);
    assert.deepEqual(next.problems, []);
    assert.equal(started, 2);
  });

  it('close() fails what is pending and refuses more', async () => {
    const off = newParser();
    const pending = assert.rejects(off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE), /closed/);
    await off.close();
    await pending;
    await assert.rejects(off.parse(FILE, bytesOf(readManifestFixture('pod.yaml')), PARSE), /closed/);
  });
});

/** One parser for a whole test (newParser makes a new one each call). */
const newParserOnce = (): OffThreadParser => parser ?? newParser();
