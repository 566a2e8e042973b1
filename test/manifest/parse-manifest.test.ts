import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/manifest/manifest-problem.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { MAX_DEPTH, MAX_SCALARS } from '../../src/manifest/yaml-limits.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';

const FILE = '/etc/runner/manifests/web.yaml';

/** A Pod whose containers list is `containers` (indented as list items under `  containers:`). */
const podWith = (containers: string, extraSpec = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n${extraSpec}  containers:\n${containers}`;
const CONTAINER = '    - name: a\n      image: busybox\n';

describe('parseManifest: valid files', () => {
  it('accepts a Pod and keeps it as written', () => {
    const result = parseManifest(FILE, readManifestFixture('pod.yaml'));
    assert.deepEqual(result.problems, []);
    assert.equal(result.file, FILE);
    assert.equal(result.documents.length, 1);
    const [doc] = result.documents;
    assert.equal(doc?.kind, 'Pod');
    assert.equal(doc?.name, 'web');
    assert.equal(doc?.line, 1);
    assert.deepEqual((doc?.object.metadata as { labels: unknown }).labels, { app: 'web' });
  });

  it('accepts a multi-document file (ConfigMap + Pod) with each document located', () => {
    const result = parseManifest(FILE, readManifestFixture('configmap-and-pod.yaml'));
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.documents.map((doc) => [doc.kind, doc.name, doc.line]),
      [
        ['ConfigMap', 'web-config', 2],
        ['Pod', 'web', 9],
      ],
    );
  });

  it('accepts JSON', () => {
    const result = parseManifest('/m/pod.json', readManifestFixture('pod.json'));
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.documents.map((doc) => [doc.kind, doc.name]),
      [['Pod', 'json-pod']],
    );
  });

  it('accepts a kubeadm-style manifest and keeps unknown fields and serialization leftovers', () => {
    const result = parseManifest('/m/etcd.yaml', readManifestFixture('kubeadm-etcd.yaml'));
    assert.deepEqual(result.problems, []);
    const object = result.documents[0]?.object as Record<string, any>;
    assert.equal(object.metadata.creationTimestamp, null);
    assert.ok('creationTimestamp' in object.metadata);
    assert.equal(object.metadata.namespace, 'kube-system');
    assert.deepEqual(object.status, {});
    assert.equal(object.spec.hostNetwork, true);
    assert.equal(object.spec.priorityClassName, 'system-node-critical');
    assert.equal(object.spec.containers[0].livenessProbe.httpGet.port, 2381);
    assert.deepEqual(object.spec.containers[0].resources, { requests: { cpu: '100m', memory: '100Mi' } });
  });

  it('keeps an empty `resources: {}`', () => {
    const result = parseManifest(FILE, podWith('    - name: a\n      image: busybox\n      resources: {}\n'));
    assert.deepEqual(result.problems, []);
    assert.deepEqual((result.documents[0]?.object as any).spec.containers[0].resources, {});
  });

  it('accepts a Deployment with replicas 1', () => {
    const result = parseManifest(FILE, readManifestFixture('deployment.yaml'));
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.documents.map((doc) => [doc.kind, doc.name]),
      [['Deployment', 'api']],
    );
  });

  const empty: [string, string][] = [
    ['an empty file', ''],
    ['a comment-only file', '# nothing here yet\n# still nothing\n'],
    ['whitespace only', '\n\n   \n'],
  ];
  for (const [what, text] of empty) {
    it(`${what} has no documents and no problems`, () => {
      assert.deepEqual(parseManifest(FILE, text), { file: FILE, documents: [], problems: [] });
    });
  }

  // Regression: yaml represents an empty document as a null *scalar*, so a
  // trailing `---` used to make every such file "a document must be a mapping".
  const separators: [string, string][] = [
    ['a trailing ---', `${podWith(CONTAINER)}---\n`],
    ['a leading ---', `---\n${podWith(CONTAINER)}`],
    ['--- then a comment at the end', `${podWith(CONTAINER)}---\n# end\n`],
  ];
  for (const [what, text] of separators) {
    it(`a Pod with ${what} is valid`, () => {
      const result = parseManifest(FILE, text);
      assert.deepEqual(result.problems, []);
      assert.equal(result.documents.length, 1);
    });
  }
});

describe('parseManifest: unique keys', () => {
  it('keys that only look alike are different keys, as in YAML: 1, "1" and a nested "a"', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels: {a: x}\ndata:\n  1: x\n  "1": y\n  a: z\n';
    const result = parseManifest('/m/cm.yaml', text);
    assert.ok(!result.problems.some((problem) => /unique/.test(problem.message)), JSON.stringify(result.problems));
  });

  it('finds the one repeated key among 50,000 and names its line', () => {
    let text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n';
    for (let i = 0; i < 50_000; i += 1) text += `  k${i}: v\n`;
    const unique = parseManifest('/m/cm.yaml', `${text}`);
    assert.ok(!unique.problems.some((problem) => /unique/.test(problem.message)));
    const repeated = parseManifest('/m/cm.yaml', `${text}  k7: again\n`);
    assert.deepEqual(
      repeated.problems
        .map((problem) => [problem.line, problem.message])
        .filter(([, message]) => /unique/.test(String(message))),
      [[50_006, 'Map keys must be unique']],
    );
  });
});

describe('parseManifest: a cap on keys and values', () => {
  const pod = podWith(CONTAINER); // 13 scalars, the last is `busybox` on line 8

  it('parses a file with exactly the cap, and refuses one more, naming where the cap was passed', () => {
    assert.deepEqual(parseManifest(FILE, pod, { maxScalars: 13 }).problems, []);
    const refused = parseManifest(FILE, pod, { maxScalars: 12 });
    assert.deepEqual(refused.documents, []);
    assert.deepEqual(refused.problems, [
      {
        file: FILE,
        line: 8,
        column: 14,
        message: 'more than 12 keys and values in one file: too large to parse without stalling the runner',
      },
    ]);
  });

  it('counts quoted scalars, flow collections and later documents, with columns as yaml gives them', () => {
    const text = `${pod}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: "cm"}\ndata: {a: 'x', "b": y}\n`;
    assert.deepEqual(parseManifest(FILE, text, { maxScalars: 25 }).problems, []);
    // Scalar 25 is `y`; with a cap of 23 the 24th is "b".
    assert.deepEqual(
      parseManifest(FILE, text, { maxScalars: 23 }).problems.map((problem) => [problem.line, problem.column]),
      [[13, 16]],
    );
  });

  it(`refuses a 10 MB file of short keys at scalar ${MAX_SCALARS + 1}`, () => {
    let text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n';
    const lines: string[] = [];
    for (let i = 0; text.length + lines.length * 20 < 10_000_000; i += 1) lines.push(`  k${i}: v`);
    text += lines.join('\n');
    const result = parseManifest(FILE, text);
    assert.equal(result.problems.length, 1);
    assert.match(result.problems[0]!.message, new RegExp(`more than ${MAX_SCALARS} keys and values`));
    // Eight scalars up to `data`, then two per line: the cap is passed on a key.
    assert.deepEqual([result.problems[0]!.line, result.problems[0]!.column], [5 + (MAX_SCALARS - 8) / 2 + 1, 3]);
  });
});

describe('parseManifest: problems name line, column and field', () => {
  const longName = 'a'.repeat(300);
  // [what, text, [line, column, field, message fragment]]
  const cases: [string, string, [number | undefined, number | undefined, string | undefined, RegExp]][] = [
    ['bad YAML syntax', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n', [5, 1, undefined, /Flow sequence/]],
    [
      'a duplicate key',
      'apiVersion: v1\nkind: Pod\nkind: Pod\nmetadata:\n  name: web\n',
      [3, 1, undefined, /Map keys must be unique/],
    ],
    [
      'a duplicate key deep in a mapping, in flow style too',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {a: "1", b: "2", a: "3"}\n',
      [5, 24, undefined, /Map keys must be unique/],
    ],
    [
      'a duplicate key in a container',
      podWith('    - name: a\n      image: x\n      image: y\n'),
      [9, 7, undefined, /Map keys must be unique/],
    ],
    [
      'an upper-case name',
      podWith(CONTAINER).replace('name: web', 'name: Web'),
      [4, 9, 'metadata.name', /DNS-1123 label/],
    ],
    [
      'a name with ".."',
      podWith(CONTAINER).replace('name: web', 'name: a..b'),
      [4, 9, 'metadata.name', /DNS-1123 label/],
    ],
    [
      'a name with "/"',
      podWith(CONTAINER).replace('name: web', 'name: a/b'),
      [4, 9, 'metadata.name', /DNS-1123 label/],
    ],
    [
      'a name with spaces',
      podWith(CONTAINER).replace('name: web', 'name: "a b"'),
      [4, 9, 'metadata.name', /DNS-1123 label/],
    ],
    [
      'a 300-character name',
      podWith(CONTAINER).replace('name: web', `name: ${longName}`),
      [4, 9, 'metadata.name', /at most 63 characters/],
    ],
    ['a missing image', podWith('    - name: a\n'), [7, 7, 'spec.containers[0].image', /^is required$/]],
    [
      'an empty image',
      podWith('    - name: a\n      image: "  "\n'),
      [8, 14, 'spec.containers[0].image', /must name an image/],
    ],
    [
      'an image that looks like a flag',
      podWith('    - name: a\n      image: "--privileged"\n'),
      [8, 14, 'spec.containers[0].image', /must not start with "-"/],
    ],
    [
      'empty containers',
      podWith('').replace('containers:\n', 'containers: []\n'),
      [6, 15, 'spec.containers', /at least one container/],
    ],
    [
      'port 0',
      podWith(`${CONTAINER}      ports:\n        - containerPort: 0\n`),
      [10, 26, 'spec.containers[0].ports[0].containerPort', /between 1 and 65535/],
    ],
    [
      'port 70000',
      podWith(`${CONTAINER}      ports:\n        - containerPort: 70000\n`),
      [10, 26, 'spec.containers[0].ports[0].containerPort', /between 1 and 65535/],
    ],
    [
      'port "80" (a string)',
      podWith(`${CONTAINER}      ports:\n        - containerPort: "80"\n`),
      [10, 26, 'spec.containers[0].ports[0].containerPort', /must be a number/],
    ],
    [
      'hostPort 70000',
      podWith(`${CONTAINER}      ports:\n        - containerPort: 80\n          hostPort: 70000\n`),
      [11, 21, 'spec.containers[0].ports[0].hostPort', /between 1 and 65535/],
    ],
    [
      'a bad restartPolicy',
      podWith(CONTAINER, '  restartPolicy: Sometimes\n'),
      [6, 18, 'spec.restartPolicy', /Always, OnFailure or Never/],
    ],
    [
      'duplicate container names across initContainers and containers',
      podWith(CONTAINER, `  initContainers:\n${CONTAINER}`),
      [10, 5, 'spec.containers', /container names must be unique/],
    ],
    [
      'duplicate container names within containers',
      podWith(`${CONTAINER}${CONTAINER}`),
      [7, 5, 'spec.containers', /container names must be unique/],
    ],
    [
      'an unsupported kind',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n',
      [2, 7, 'kind', /kind "Service" is not supported/],
    ],
    ['a missing kind', 'apiVersion: v1\nmetadata:\n  name: web\n', [1, 1, 'kind', /is required/]],
    ['a list document', '- a\n- b\n', [1, 1, undefined, /must be a mapping/]],
    ['a scalar document', 'hello\n', [1, 1, undefined, /must be a mapping/]],
    [
      'a reserved label prefix',
      podWith(CONTAINER).replace('  name: web\n', '  name: web\n  labels:\n    static-pod-runner/managed: "true"\n'),
      [6, 5, 'metadata.labels', /reserved for the runner/],
    ],
    [
      'a Deployment with replicas 2',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: a\n          image: b\n',
      [6, 13, 'spec.replicas', /must be 1/],
    ],
    [
      'a Pod with apiVersion apps/v1',
      podWith(CONTAINER).replace('apiVersion: v1', 'apiVersion: apps/v1'),
      [1, 13, 'apiVersion', /must be "v1"/],
    ],
    [
      'a ConfigMap-only file',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n',
      [undefined, undefined, undefined, /no Pod or Deployment/],
    ],
    [
      'the same Pod twice in one file',
      `${podWith(CONTAINER)}---\n${podWith(CONTAINER)}`,
      [10, 1, 'metadata.name', /Pod "web" is defined twice in this file \(first at line 1\)/],
    ],
  ];
  for (const [what, text, [line, column, field, message]] of cases) {
    it(`reports ${what}`, () => {
      const result = parseManifest(FILE, text);
      assert.deepEqual(result.documents, [], 'a file with a problem yields no documents');
      assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
      const [problem] = result.problems;
      assert.equal(problem?.file, FILE);
      assert.equal(problem?.line, line);
      assert.equal(problem?.column, column);
      assert.equal(problem?.field, field);
      assert.match(problem?.message ?? '', message);
    });
  }

  it('reports every problem of a file, each on its own field', () => {
    const text = podWith('    - name: A\n      ports:\n        - containerPort: 0\n', '  restartPolicy: Sometimes\n');
    const fields = parseManifest(FILE, text)
      .problems.map((problem) => problem.field)
      .sort();
    assert.deepEqual(fields, [
      'spec.containers[0].image',
      'spec.containers[0].name',
      'spec.containers[0].ports[0].containerPort',
      'spec.restartPolicy',
    ]);
  });

  it('one bad document makes the whole file yield nothing', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n${podWith('    - name: a\n')}`;
    const result = parseManifest(FILE, text);
    assert.deepEqual(result.documents, []);
    assert.deepEqual(
      result.problems.map((problem) => problem.field),
      ['spec.containers[0].image'],
    );
  });

  it('formats problems as file:line:col: field: message', () => {
    const [problem] = parseManifest(FILE, podWith('    - name: a\n')).problems;
    assert.ok(problem);
    assert.equal(formatProblem(problem), `${FILE}:7:7: spec.containers[0].image: is required`);
  });
});

describe('parseManifest: hostile input', () => {
  it('a YAML alias bomb (billion laughs) is a problem, quickly', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i += 1) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    const result = parseManifest(FILE, `${levels.join('\n')}\n`);
    assert.ok(performance.now() - started < 2000, 'must not expand the aliases');
    assert.deepEqual(result.documents, []);
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]?.line, 1);
    assert.match(result.problems[0]?.message ?? '', /cannot expand document/);
  });

  it('a few aliases in a valid manifest are fine', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      image: &img busybox\n    - name: b\n      image: *img\n';
    const result = parseManifest(FILE, text);
    assert.deepEqual(result.problems, []);
    assert.equal((result.documents[0]?.object as any).spec.containers[1].image, 'busybox');
  });

  it('100k nested "[" yields a capped list of problems, without crashing', () => {
    const result = parseManifest(FILE, '['.repeat(100_000));
    assert.deepEqual(result.documents, []);
    assert.ok(result.problems.length >= 1);
    assert.ok(result.problems.length <= 21, `${result.problems.length} problems`);
  });

  it('many distinct problems are capped at 20 plus a summary line', () => {
    const containers = Array.from({ length: 30 }, (_, i) => `    - name: c${i}\n`).join('');
    const result = parseManifest(FILE, podWith(containers));
    assert.equal(result.problems.length, 21);
    assert.equal(result.problems[20]?.message, 'and 10 more problems');
    assert.equal(result.problems[20]?.line, undefined);
  });

  // Every problem used to be located (yaml's getIn, which walks a map key by
  // key): 64,000 numbers took 33 s on the development machine, 99,000 would
  // take over a minute. Now about 3 s: the bound only separates the two.
  it('a ConfigMap of 99,000 numbers: the 20 problems shown are located, and the parse is not quadratic', () => {
    const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: c}', 'data:'];
    for (let index = 0; index < 99_000; index += 1) lines.push(`  k${index}: ${index}`);
    const started = Date.now();
    const result = parseManifest(FILE, `${lines.join('\n')}\n---\n${podWith(CONTAINER)}`);
    const elapsed = Date.now() - started;
    assert.equal(result.problems.length, 21);
    assert.deepEqual(
      result.problems.slice(0, 2).map((problem) => [problem.line, problem.column, problem.field]),
      [
        [5, 7, 'data.k0'],
        [6, 7, 'data.k1'],
      ],
    );
    assert.ok(result.problems.slice(0, 20).every((problem) => problem.line !== undefined));
    assert.equal(result.problems[20]?.message, 'and 98980 more problems');
    assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
  });
});

describe('parseManifest: init containers', () => {
  it('refuses probes on an init container, as Kubernetes does, naming the field and line', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  initContainers:\n    - name: init\n      image: i\n      startupProbe:\n        exec: {command: ["true"]}\n  containers:\n    - name: c\n      image: i\n';
    const result = parseManifest('f.yaml', text);
    assert.deepEqual(
      result.problems.map((problem) => [problem.line, problem.field, problem.message]),
      [[9, 'spec.initContainers[0].startupProbe', 'init containers run to completion and take no probes']],
    );
  });
});

// Deep nesting is refused before yaml composes it: at the edge of the stack
// Node 20.19 aborted the process (see MAX_DEPTH). Each case would overflow
// the stack (about 785 levels) were it parsed.
describe('parseManifest: nesting deeper than MAX_DEPTH is refused before parsing', () => {
  const deepProblem = (text: string): [number | undefined, number | undefined, string][] =>
    parseManifest(FILE, text).problems.map((problem) => [problem.line, problem.column, problem.message]);
  const tooDeep = `collections nested more than ${MAX_DEPTH} deep: too deep to parse safely`;
  const blockMaps = (levels: number, between = ''): string =>
    Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}a:\n${between}`).join('');

  const cases: [string, string, [number, number]][] = [
    ['flow sequences', '['.repeat(100_000), [1, MAX_DEPTH + 1]],
    ['flow mappings', '{a: '.repeat(1000), [1, 4 * MAX_DEPTH + 1]],
    ['block mappings', blockMaps(1000), [MAX_DEPTH + 1, MAX_DEPTH + 1]],
    [
      'block mappings with comment lines at column 0 between',
      blockMaps(1000, '# c\n'),
      [2 * MAX_DEPTH + 1, MAX_DEPTH + 1],
    ],
    ['compact sequences on one line', `${'- '.repeat(1000)}x\n`, [1, 2 * MAX_DEPTH - 1]],
  ];
  for (const [what, text, at] of cases) {
    it(`refuses ${what}, naming where`, () => assert.deepEqual(deepProblem(text), [[...at, tooDeep]]));
  }

  it("takes a block scalar's indented lines and brackets in strings for text, not nesting", () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "${'['.repeat(500)}"\n  b: |\n${Array.from({ length: 500 }, (_, i) => `    ${' '.repeat(i)}x`).join('\n')}\n`;
    // Parsed (its only problem is that a ConfigMap alone is applied with no pod), not refused.
    assert.deepEqual(
      parseManifest(FILE, text).problems.map((problem) => problem.message),
      [
        'the file has no Pod or Deployment: ConfigMaps, Secrets and PersistentVolumeClaims are applied together with the pods of the same file',
      ],
    );
  });

  it(`accepts ${MAX_DEPTH - 10} levels`, () => {
    assert.doesNotMatch(JSON.stringify(parseManifest(FILE, blockMaps(MAX_DEPTH - 10)).problems), /nested/);
    assert.doesNotMatch(
      JSON.stringify(parseManifest(FILE, `${'['.repeat(MAX_DEPTH - 10)}${']'.repeat(MAX_DEPTH - 10)}`).problems),
      /nested/,
    );
  });
});
