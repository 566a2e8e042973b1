/**
 * Mutations for the policy oracle, as data (fast-check prints a failing case
 * as it was generated): keys in another case (ASCII or Unicode folding), YAML
 * merge keys, anchors and aliases, JSON, YAML 1.1, extra documents, fields
 * moved between pod and container, annotations, wrong types, and the
 * dangerous values of oracle-seeds.ts. `materialize` turns a case into
 * documents for one concrete run, `render` into the file as written.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  ANNOTATIONS,
  claim,
  CLAIMS,
  container,
  DANGERS,
  seedDocs,
  SEEDS,
  type CaseContext,
  type Danger,
  type DangerSpec,
  type Json,
  type SeedName,
} from './oracle-seeds.ts';

/**
 * Keys worth renaming or merging by name (the rest are picked by position),
 * each with what to inject first when the manifest does not have it yet, so
 * the renamed or merged key carries something the policy must see.
 */
const PAYLOADS = {
  privileged: 'privileged',
  capabilities: 'cap-sys-admin',
  add: 'cap-all',
  hostPath: 'host-etc',
  path: 'host-root',
  securityContext: 'privileged',
  hostPID: 'host-pid',
  hostNetwork: 'host-network',
  seLinuxOptions: 'selinux-spc',
  procMount: 'proc-unmasked',
  seccompProfile: 'seccomp-unconfined',
  sysctls: 'sysctl-kernel',
  volumes: 'host-root',
  mountPropagation: 'propagation-bidirectional',
} as const satisfies Record<string, Danger>;
const SECURITY_KEYS = Object.keys(PAYLOADS) as (keyof typeof PAYLOADS)[];

export type Mutation =
  | { op: 'inject'; danger: Danger; at: 'container' | 'init' | 'pod' }
  | { op: 'annotate'; key: string; merged: boolean }
  | { op: 'claim'; variant: string }
  | { op: 'config-map'; escape: 'none' | 'key' | 'item' }
  | { op: 'wrong-type'; field: 'privileged' | 'hostNetwork' | 'hostPID' | 'add' | 'path'; value: unknown }
  | { op: 'recase'; key: string | number; style: 'capital' | 'upper' | 'kelvin' | 'long-s' }
  | { op: 'merge'; key: string | number; alias: boolean }
  | { op: 'move-context'; to: 'pod' | 'container' }
  | { op: 'share-context' };

export type Format = 'yaml' | 'yaml-1.1' | 'json' | 'flow';

export interface Case {
  seed: SeedName;
  mutations: Mutation[];
  format: Format;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('inject' as const),
      danger: fc.constantFrom(...(Object.keys(DANGERS) as Danger[])),
      at: fc.constantFrom('container' as const, 'init' as const, 'pod' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('annotate' as const),
      key: fc.constantFrom(...Object.keys(ANNOTATIONS)),
      merged: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('claim' as const), variant: fc.constantFrom(...Object.keys(CLAIMS)) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('config-map' as const),
      escape: fc.constantFrom('none' as const, 'key' as const, 'item' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('wrong-type' as const),
      field: fc.constantFrom(
        'privileged' as const,
        'hostNetwork' as const,
        'hostPID' as const,
        'add' as const,
        'path' as const,
      ),
      value: fc.constantFrom<unknown>('true', 'yes', 'on', 1, 'SYS_ADMIN', ['/']),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('recase' as const),
      key: fc.oneof(fc.constantFrom(...SECURITY_KEYS), fc.nat(200)),
      style: fc.constantFrom('capital' as const, 'upper' as const, 'kelvin' as const, 'long-s' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('merge' as const),
      key: fc.oneof(fc.constantFrom(...SECURITY_KEYS), fc.nat(200)),
      alias: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('move-context' as const),
      to: fc.constantFrom('pod' as const, 'container' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'share-context' as const }) },
);

export const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  seed: fc.constantFrom(...SEEDS),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  format: fc.constantFrom<Format>('yaml', 'yaml-1.1', 'json', 'flow'),
});

// ---- applying mutations ----

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const objectAt = (parent: Json, key: string): Json => (isObject(parent[key]) ? parent[key] : (parent[key] = {}));
const listAt = (parent: Json, key: string): unknown[] =>
  Array.isArray(parent[key]) ? (parent[key] as unknown[]) : (parent[key] = []);

const workloadOf = (docs: Json[]): Json =>
  docs.find((doc) => doc.kind === 'Pod' || doc.kind === 'Deployment') ?? docs[0]!;
const podSpecOf = (workload: Json): Json =>
  workload.kind === 'Deployment'
    ? objectAt(objectAt(objectAt(workload, 'spec'), 'template'), 'spec')
    : objectAt(workload, 'spec');
const podMetaOf = (workload: Json): Json =>
  workload.kind === 'Deployment'
    ? objectAt(objectAt(objectAt(workload, 'spec'), 'template'), 'metadata')
    : objectAt(workload, 'metadata');
/** The first container; a manifest whose containers a mutation renamed or merged away gets a new one (it is refused for the rename anyway). */
const mainContainer = (spec: Json): Json => {
  const list = listAt(spec, 'containers');
  if (!isObject(list[0])) list.unshift(container());
  return list[0] as Json;
};
const initContainer = (spec: Json): Json => {
  const list = listAt(spec, 'initContainers');
  if (list.length === 0) list.push({ ...container('init'), command: ['true'] });
  return list[0] as Json;
};

/** Deep merge of plain objects; lists are concatenated (two injections add two capabilities). */
const mergeInto = (target: Json, source: Json): void => {
  for (const [key, value] of Object.entries(source)) {
    if (isObject(value) && isObject(target[key])) mergeInto(target[key], value);
    else if (Array.isArray(value) && Array.isArray(target[key]))
      (target[key] as unknown[]).push(...structuredClone(value));
    else target[key] = structuredClone(value);
  }
};

const mountVolume = (spec: Json, volume: Json, mountPath: string, extra: Json = {}): void => {
  listAt(spec, 'volumes').push(volume);
  listAt(mainContainer(spec), 'volumeMounts').push({ name: volume.name, mountPath, ...extra });
};

/** Every [parent, key] in the document, depth first: what `recase` and `merge` pick from by position. */
const allKeys = (value: unknown, out: [Json, string][] = []): [Json, string][] => {
  if (Array.isArray(value)) for (const item of value) allKeys(item, out);
  else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      out.push([value, key]);
      allKeys(value[key], out);
    }
  }
  return out;
};

const pickKeys = (doc: Json, key: string | number): [Json, string][] => {
  const keys = allKeys(doc);
  if (typeof key === 'string') return keys.filter(([, name]) => name === key);
  const picked = keys[key % keys.length];
  return picked ? [picked] : [];
};

/** The keys `recase` or `merge` act on; a named key the manifest lacks is injected first, with its payload. */
const pickWithPayload = (docs: Json[], key: string | number, ctx: CaseContext): [Json, string][] => {
  const workload = workloadOf(docs);
  const picked = pickKeys(workload, key);
  if (picked.length > 0 || typeof key === 'number' || !(key in PAYLOADS)) return picked;
  applyMutation(docs, { op: 'inject', danger: PAYLOADS[key as keyof typeof PAYLOADS], at: 'container' }, ctx);
  return pickKeys(workload, key);
};

/** Renames a key in place, keeping its position (so the YAML still reads top to bottom as before). */
const renameKey = (parent: Json, from: string, to: string): void => {
  const entries = Object.entries(parent).map(([key, value]): [string, unknown] => [key === from ? to : key, value]);
  for (const key of Object.keys(parent)) delete parent[key];
  Object.assign(parent, Object.fromEntries(entries));
};

const RECASE = {
  capital: (key: string) => key.charAt(0).toUpperCase() + key.slice(1),
  upper: (key: string) => key.toUpperCase(),
  kelvin: (key: string) =>
    key.includes('k') ? key.replace('k', '\u212a') : key.charAt(0).toUpperCase() + key.slice(1),
  'long-s': (key: string) =>
    key.includes('s') ? key.replace('s', '\u017f') : key.charAt(0).toUpperCase() + key.slice(1),
};

const applyMutation = (docs: Json[], m: Mutation, ctx: CaseContext): Json[] => {
  const workload = workloadOf(docs);
  const spec = podSpecOf(workload);
  const hostPaths = (text: string): string => text.replaceAll('HOSTDIR', ctx.hostDir);
  switch (m.op) {
    case 'inject': {
      const danger: DangerSpec = DANGERS[m.danger];
      if (danger.sc)
        mergeInto(
          objectAt(
            m.at === 'pod' ? spec : m.at === 'init' ? initContainer(spec) : mainContainer(spec),
            'securityContext',
          ),
          danger.sc,
        );
      if (danger.podSc) mergeInto(objectAt(spec, 'securityContext'), danger.podSc);
      if (danger.spec) mergeInto(spec, danger.spec);
      if (danger.hostPath) {
        const index = listAt(spec, 'volumes').length;
        mountVolume(
          spec,
          { name: `${ctx.prefix}h${index}`, hostPath: { path: hostPaths(danger.hostPath) } },
          `/host${index}`,
          { ...(danger.writable ? {} : { readOnly: true }), ...danger.mount },
        );
      }
      return docs;
    }
    case 'annotate': {
      const annotations = objectAt(podMetaOf(workload), 'annotations');
      if (m.merged) objectAt(annotations, '<<')[m.key] = ANNOTATIONS[m.key];
      else annotations[m.key] = ANNOTATIONS[m.key];
      return docs;
    }
    case 'claim': {
      const name = `${ctx.prefix}v${listAt(spec, 'volumes').length}`;
      const annotations =
        CLAIMS[m.variant] &&
        Object.fromEntries(Object.entries(CLAIMS[m.variant]!).map(([key, value]) => [key, hostPaths(value)]));
      mountVolume(
        spec,
        { name, persistentVolumeClaim: { claimName: name } },
        `/claim/${name}`,
        m.variant === 'bind-etc' ? { readOnly: true } : {},
      );
      return [...docs, claim(name, annotations)];
    }
    case 'config-map': {
      const name = `${ctx.prefix}m${listAt(spec, 'volumes').length}`;
      const climb = `${'../'.repeat(12)}${ctx.escapeDir.slice(1)}/${name}`;
      const data: Json = { 'app.conf': 'x\n', ...(m.escape === 'key' ? { [climb]: 'written by podman' } : {}) };
      mountVolume(
        spec,
        { name, configMap: { name, ...(m.escape === 'item' ? { items: [{ key: 'app.conf', path: climb }] } : {}) } },
        `/cm/${name}`,
      );
      return [...docs, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }];
    }
    case 'wrong-type': {
      if (m.field === 'privileged') objectAt(mainContainer(spec), 'securityContext').privileged = m.value;
      else if (m.field === 'add')
        objectAt(objectAt(mainContainer(spec), 'securityContext'), 'capabilities').add = m.value;
      else if (m.field === 'path') mountVolume(spec, { name: `${ctx.prefix}t`, hostPath: { path: m.value } }, '/typed');
      else spec[m.field] = m.value;
      return docs;
    }
    case 'recase':
      for (const [parent, key] of pickWithPayload(docs, m.key, ctx)) renameKey(parent, key, RECASE[m.style](key));
      return docs;
    case 'merge':
      for (const [parent, key] of pickWithPayload(docs, m.key, ctx)) {
        const moved = { [key]: parent[key] };
        renameKey(parent, key, '<<');
        parent['<<'] = moved;
        // The same object twice: YAML renders it as an anchor and `<<: *a1`.
        if (m.alias) workload[`x-defaults-${Object.keys(workload).length}`] = moved;
      }
      return docs;
    case 'move-context': {
      const from = m.to === 'pod' ? mainContainer(spec) : spec;
      const to = m.to === 'pod' ? spec : mainContainer(spec);
      if (isObject(from.securityContext)) mergeInto(objectAt(to, 'securityContext'), from.securityContext);
      delete from.securityContext;
      return docs;
    }
    case 'share-context': {
      const main = mainContainer(spec);
      // One object in two places: YAML renders an anchor and an alias.
      listAt(spec, 'containers').push({ ...container('side'), securityContext: objectAt(main, 'securityContext') });
      return docs;
    }
  }
};

/** The documents of a case for one run. The workload comes first in the file (the runner renders supporting documents before it). */
export const materialize = (c: Case, ctx: CaseContext): Json[] => {
  let docs = seedDocs(c.seed, ctx);
  docs = [workloadOf(docs), ...docs.filter((doc) => doc !== workloadOf(docs))];
  for (const m of c.mutations) docs = applyMutation(docs, m, ctx);
  return docs;
};

/** The file as written: YAML 1.2 (the runner's reading), YAML 1.1 with its directive (merge keys live), JSON, or flow style. */
export const render = (docs: Json[], format: Format): string => {
  switch (format) {
    case 'yaml':
      return docs.map((doc) => stringify(doc)).join('---\n');
    case 'yaml-1.1':
      return docs.map((doc) => `%YAML 1.1\n---\n${stringify(doc, { version: '1.1' })}`).join('...\n');
    case 'json':
      return docs.map((doc) => JSON.stringify(doc, null, 2)).join('\n---\n');
    case 'flow':
      return docs.map((doc) => stringify(doc, { collectionStyle: 'flow' })).join('---\n');
  }
};

/**
 * What a refusal of this case must name, when the case is a plain injection
 * (no renamed key, merge key or wrong type in front of it, which the runner
 * reports first): at least one problem must match one of these.
 */
export const expectedRefusal = (c: Case): { field: RegExp; message: RegExp }[] => {
  if (
    c.mutations.some(
      (m) => m.op === 'recase' || m.op === 'merge' || m.op === 'wrong-type' || (m.op === 'annotate' && m.merged),
    )
  )
    return [];
  return c.mutations.flatMap((m) => {
    if (m.op === 'inject') {
      const danger: DangerSpec = DANGERS[m.danger];
      if (danger.field === undefined) return [];
      return [
        {
          field: new RegExp(danger.field),
          message: danger.key ? new RegExp(`policy\\.${danger.key}\\b`) : (danger.reason ?? /policy\.[A-Za-z]/),
        },
      ];
    }
    if (m.op === 'claim' && ['bind-root', 'bind-etc'].includes(m.variant))
      return [{ field: /volume\.podman\.io\/device/, message: /policy\.hostPath/ }];
    if (m.op === 'annotate' && m.key !== 'example.com/owner')
      return [{ field: /annotations/, message: /podman|runtime/ }];
    return [];
  });
};
