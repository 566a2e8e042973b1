/**
 * Property-based tests (fast-check) for the manifest parser and validator:
 * generated valid Pods always pass and hash stably; mutated manifests never
 * throw, hang or reject, and every failure is a located problem naming the
 * file. Runs are bounded (numRuns, a per-input time limit) to keep this fast;
 * a failure prints its seed and shrunk input for `fc.assert(..., { seed })`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { buildUnits } from '../../src/desired/build-units.ts';
import { formatProblem } from '../../src/manifest/manifest-problem.ts';
import { parseManifest, type ParsedManifest } from '../../src/manifest/parse-manifest.ts';
import { readAndParse } from '../../src/manifest/read-manifest-dir.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const FILE = '/etc/runner/manifests/gen.yaml';
/** Per input: the parser must answer well within this (it takes ~1 ms for these sizes). */
const TIME_LIMIT_MS = 1000;

// ---- generators ----

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const dnsLabel = fc
  .tuple(
    fc.constantFrom(...ALNUM),
    fc.array(fc.constantFrom(...ALNUM, '-'), { maxLength: 40 }),
    fc.constantFrom(...ALNUM),
  )
  .map(([first, middle, last]) => `${first}${middle.join('')}${last}`.slice(0, 63))
  .filter((name) => !name.endsWith('-'));

const envVar = fc.record({ name: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/), value: fc.string({ maxLength: 30 }) });
const port = fc.record(
  {
    containerPort: fc.integer({ min: 1, max: 65535 }),
    hostPort: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'),
  },
  { requiredKeys: ['containerPort'] },
);
const container = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      image: fc.constantFrom(
        'busybox',
        'docker.io/library/nginx:1.25',
        'registry.k8s.io/etcd:3.5.9-0',
        'localhost/x@sha256:' + 'a'.repeat(64),
      ),
      command: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
      args: fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }),
      ports: fc.array(port, { maxLength: 3 }),
      env: fc.array(envVar, { maxLength: 4 }),
      imagePullPolicy: fc.constantFrom('Always', 'IfNotPresent', 'Never'),
    },
    { requiredKeys: ['name', 'image'] },
  );
const labelKey = fc
  .stringMatching(/^[a-z]([a-z0-9.-]{0,20}\/)?[a-z0-9]([a-z0-9_.-]{0,20}[a-z0-9])?$/)
  .filter((key) => !key.startsWith('static-pod-runner/'));

const validPod = fc
  .record({
    name: dnsLabel,
    labels: fc.dictionary(labelKey, fc.string({ maxLength: 20 }), { maxKeys: 4 }),
    containerNames: fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 4 }),
    restartPolicy: fc.option(fc.constantFrom('Always', 'OnFailure', 'Never'), { nil: undefined }),
    grace: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    hostNetwork: fc.boolean(),
  })
  .chain(({ containerNames, ...rest }) =>
    fc.tuple(...containerNames.map(container)).map((containers) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: rest.name, labels: rest.labels },
      spec: {
        hostNetwork: rest.hostNetwork,
        ...(rest.restartPolicy ? { restartPolicy: rest.restartPolicy } : {}),
        ...(rest.grace !== undefined ? { terminationGracePeriodSeconds: rest.grace } : {}),
        containers,
      },
    })),
  );

/** The same value with every object's keys in a shuffled order (seeded). */
const reorder = (value: unknown, seed: number): unknown => {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(walk);
    if (item && typeof item === 'object') {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i > 0; i -= 1) {
        const j = Math.floor(next() * (i + 1));
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return Object.fromEntries(entries.map(([key, child]) => [key, walk(child)]));
    }
    return item;
  };
  return walk(value);
};

const hashOf = (parsed: ParsedManifest): string => {
  const [unit] = buildUnits(parsed, { defaultStopTimeoutSeconds: 10 });
  assert.ok(unit);
  return unit.hash;
};

// ---- the well-formedness of any outcome ----

const timed = <T>(run: () => T): T => {
  const start = performance.now();
  const result = run();
  const elapsed = performance.now() - start;
  assert.ok(elapsed < TIME_LIMIT_MS, `took ${Math.round(elapsed)} ms`);
  return result;
};

/** Whatever the input, the outcome is either documents or located problems naming the file. */
const assertWellFormed = (file: string, parsed: ParsedManifest): void => {
  assert.equal(parsed.file, file);
  if (parsed.problems.length > 0) assert.deepEqual(parsed.documents, []);
  for (const problem of parsed.problems) {
    assert.equal(problem.file, file);
    assert.equal(typeof problem.message, 'string');
    assert.ok(problem.message.trim().length > 0, 'empty message');
    if (problem.line !== undefined)
      assert.ok(Number.isInteger(problem.line) && problem.line >= 1, `line ${problem.line}`);
    if (problem.column !== undefined)
      assert.ok(Number.isInteger(problem.column) && problem.column >= 1, `column ${problem.column}`);
    assert.ok(formatProblem(problem).startsWith(file));
  }
  if (parsed.problems.length === 0) {
    for (const unit of buildUnits(parsed, { defaultStopTimeoutSeconds: 10 })) assert.match(unit.hash, /^[0-9a-f]{64}$/);
  }
};

// ---- mutations ----

const YAML_TOKENS = [
  '&a ',
  '*a',
  '<<: *a\n',
  '\n---\n',
  '? ',
  ': ',
  '- ',
  '!!binary ',
  '!!python/object ',
  '{',
  '}',
  '[',
  ']',
  '|',
  '>-',
  '%YAML 1.1\n',
  '!<tag:x> ',
  '"',
  "'",
  '#',
  '\t',
  '\0',
  '\uFEFF',
  '~',
  '.inf',
  '0x1F',
  '1e999',
  '\\u0000',
  '&b [*a,*a,*a,*a]',
];

const FIELD_PATHS: (string | number)[][] = [
  ['kind'],
  ['apiVersion'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'labels'],
  ['spec'],
  ['spec', 'containers'],
  ['spec', 'containers', 0],
  ['spec', 'containers', 0, 'name'],
  ['spec', 'containers', 0, 'image'],
  ['spec', 'containers', 0, 'ports'],
  ['spec', 'containers', 0, 'ports', 0, 'containerPort'],
  ['spec', 'containers', 0, 'command'],
  ['spec', 'containers', 0, 'env'],
  ['spec', 'containers', 0, 'livenessProbe'],
  ['spec', 'containers', 0, 'securityContext'],
  ['spec', 'containers', 0, 'securityContext', 'capabilities', 'add'],
  ['spec', 'restartPolicy'],
  ['spec', 'hostNetwork'],
  ['spec', 'volumes'],
  ['spec', 'volumes', 0, 'hostPath'],
  ['spec', 'initContainers'],
  ['spec', 'terminationGracePeriodSeconds'],
];

const setIn = (object: unknown, at: (string | number)[], value: unknown): unknown => {
  const copy = structuredClone(object) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of at.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = typeof key === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[at[at.length - 1]!] = value;
  return copy;
};

const mutatedText = validPod.chain((pod) => {
  const text = stringify(pod);
  return fc.oneof(
    // random character flips
    fc
      .array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0, max: 0xffff })), {
        minLength: 1,
        maxLength: 8,
      })
      .map((flips) => {
        const chars = [...text];
        for (const [at, code] of flips) chars[at % chars.length] = String.fromCharCode(code);
        return chars.join('');
      }),
    // truncation
    fc.nat({ max: text.length }).map((length) => text.slice(0, length)),
    // inserted YAML tokens
    fc
      .array(fc.tuple(fc.nat({ max: text.length }), fc.constantFrom(...YAML_TOKENS)), { minLength: 1, maxLength: 5 })
      .map((inserts) => {
        let out = text;
        for (const [at, token] of inserts)
          out = out.slice(0, at % (out.length + 1)) + token + out.slice(at % (out.length + 1));
        return out;
      }),
    // a random JSON value in a field, written as YAML or JSON
    fc
      .tuple(fc.constantFrom(...FIELD_PATHS), fc.jsonValue({ maxDepth: 3 }), fc.boolean())
      .map(([at, value, asJson]) => {
        const mutated = setIn(pod, at, value);
        return asJson ? JSON.stringify(mutated) : stringify(mutated);
      }),
    // anything at all
    fc.string({ unit: 'binary', maxLength: 400 }),
  );
});

describe('parseManifest: generated valid Pods (fast-check)', () => {
  it('always parse with no problems, under the default policy', () => {
    fc.assert(
      fc.property(validPod, (pod) => {
        const parsed = timed(() => parseManifest(FILE, stringify(pod)));
        assert.deepEqual(parsed.problems, []);
        assert.equal(parsed.documents.length, 1);
        // fast-check may build null-prototype objects; compare the data only.
        assert.deepEqual(parsed.documents[0]?.object, JSON.parse(JSON.stringify(pod)));
      }),
      { numRuns: 300 },
    );
  });

  it('hash the same whatever the key order, and as YAML or JSON', () => {
    fc.assert(
      fc.property(validPod, fc.integer(), (pod, seed) => {
        const original = hashOf(parseManifest(FILE, stringify(pod)));
        assert.equal(hashOf(parseManifest(FILE, stringify(reorder(pod, seed)))), original);
        assert.equal(hashOf(parseManifest(FILE, JSON.stringify(reorder(pod, seed + 1)))), original);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseManifest: mutated manifests (fast-check)', () => {
  it('never throw or hang; every failure is a problem naming the file, line >= 1', () => {
    fc.assert(
      fc.property(mutatedText, (text) => {
        assertWellFormed(
          FILE,
          timed(() => parseManifest(FILE, text)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('a different hash for a different spec (a changed image)', () => {
    fc.assert(
      fc.property(validPod, (pod) => {
        const changed = setIn(pod, ['spec', 'containers', 0, 'image'], 'busybox:other');
        assert.notEqual(hashOf(parseManifest(FILE, stringify(pod))), hashOf(parseManifest(FILE, stringify(changed))));
      }),
      { numRuns: 200 },
    );
  });
});

describe('readAndParse: random bytes on disk (fast-check)', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('property');
  });
  after(() => removeTempDir(dir));

  it('never rejects; invalid UTF-8 and garbage become problems of that file', async () => {
    const file = (): string => path.join(dir, 'bytes.yaml');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          validPod.chain((pod) =>
            fc
              .tuple(fc.constant(Buffer.from(stringify(pod))), fc.nat(), fc.integer({ min: 0x80, max: 0xff }))
              .map(([bytes, at, byte]) => {
                const copy = Uint8Array.from(bytes);
                copy[at % copy.length] = byte;
                return copy;
              }),
          ),
        ),
        async (bytes) => {
          await writeFile(file(), bytes);
          const parsed = await readAndParse(file());
          assert.ok(parsed);
          assertWellFormed(file(), parsed);
        },
      ),
      { numRuns: 200 },
    );
  });
});
