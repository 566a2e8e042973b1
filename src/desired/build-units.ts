import { stringify } from 'yaml';
import { SUPPORTING_KINDS, WORKLOAD_KINDS, type PodSpec, type WorkloadKind } from '../manifest/kube-schema.ts';
import type { ParsedManifest } from '../manifest/parse-manifest.ts';
import { unitKey, unitLabels } from '../shared/ownership.ts';
import { DEFAULT_PULL, effectivePullPolicy, type PullPolicy, type PullSetting } from './pull-policy.ts';
import { canonicalJson, sha256 } from './canonical-hash.ts';
import type { DesiredUnit } from './desired-unit.ts';

/** Bump when the way units are rendered changes, so running pods pick up the new rendering. */
const RENDER_VERSION = 'v1';

export interface BuildOptions {
  /** Used when a pod sets no terminationGracePeriodSeconds. */
  defaultStopTimeoutSeconds: number;
  /** The runner's `pull` setting; every container gets an explicit imagePullPolicy within it (default: missing). */
  pull?: PullSetting;
}

/** Units already rendered, per parse: a parse is immutable, and the manifest source hands back the same parse while its file is unchanged. */
const rendered = new WeakMap<ParsedManifest, { options: string; units: DesiredUnit[] }>();

const optionsKey = (options: BuildOptions): string =>
  `${options.defaultStopTimeoutSeconds}\0${options.pull ?? DEFAULT_PULL}`;

/**
 * Turns one valid manifest file into its units: one per Pod or Deployment,
 * each carrying every supporting document (ConfigMap, Secret, PVC) of the
 * file. The hash covers the documents as written (normalized); the labels
 * that carry it are added afterwards so they do not feed back into it.
 *
 * Rendered once per parse and options, not on every reconcile pass (a 1 MiB
 * ConfigMap takes about 0.5 s to hash and render). The units are shared
 * between calls: callers must not change them.
 */
export const buildUnits = (manifest: ParsedManifest, options: BuildOptions): DesiredUnit[] => {
  const key = optionsKey(options);
  const cached = rendered.get(manifest);
  if (cached?.options === key) return cached.units;
  const units = renderUnits(manifest, options);
  rendered.set(manifest, { options: key, units });
  return units;
};

/** Hands buildUnits the units of `manifest` rendered elsewhere (on the parse worker) with the same code and options. */
export const rememberUnits = (manifest: ParsedManifest, options: BuildOptions, units: DesiredUnit[]): void => {
  rendered.set(manifest, { options: optionsKey(options), units });
};

const renderUnits = (manifest: ParsedManifest, options: BuildOptions): DesiredUnit[] => {
  const supporting = manifest.documents.filter((doc) => (SUPPORTING_KINDS as readonly string[]).includes(doc.kind));
  const workloads = manifest.documents.filter((doc) => (WORKLOAD_KINDS as readonly string[]).includes(doc.kind));
  return workloads.map((workload) => {
    const kind = workload.kind as WorkloadKind;
    const unit = `${kind}/${workload.name}`;
    const hash = sha256(
      canonicalJson({
        render: RENDER_VERSION,
        workload: workload.object,
        supporting: supporting.map((doc) => doc.object),
      }),
    );
    const labels = unitLabels(manifest.file, unit, hash);
    const spec = podSpecOf(kind, workload.object);
    const labelled = withPodSpec(
      kind,
      withLabels(kind, workload.object, labels),
      forPodman(spec, options.pull ?? DEFAULT_PULL),
    );
    return {
      key: unitKey(manifest.file, unit),
      file: manifest.file,
      unit,
      kind,
      name: workload.name,
      ...(kind === 'Pod' ? { podName: workload.name } : {}),
      hash,
      yaml: [...supporting.map((doc) => doc.object), labelled].map((doc) => stringify(doc, PODMAN_YAML)).join('---\n'),
      stopTimeoutSeconds: spec.terminationGracePeriodSeconds ?? options.defaultStopTimeoutSeconds,
      restartPolicy: spec.restartPolicy ?? 'Always',
      hostNetwork: (spec as { hostNetwork?: unknown }).hostNetwork === true,
      volumes: supporting.filter((doc) => doc.kind === 'PersistentVolumeClaim').map((doc) => doc.name),
      secrets: supporting.filter((doc) => doc.kind === 'Secret').map((doc) => doc.name),
      images: [...new Set([...(spec.initContainers ?? []), ...spec.containers].map((container) => container.image))],
      containers: spec.containers.map((container) => ({
        name: container.name,
        image: container.image,
        ...pick(container, PROBES),
        ...(container.ports
          ? {
              ports: container.ports.map((port) => ({
                ...(port.name ? { name: port.name } : {}),
                containerPort: port.containerPort,
              })),
            }
          : {}),
      })),
    };
  });
};

const podSpecOf = (kind: WorkloadKind, object: Record<string, unknown>): PodSpec =>
  (kind === 'Pod' ? object.spec : (object.spec as { template: { spec: unknown } }).template.spec) as PodSpec;

type Json = Record<string, unknown>;

/**
 * podman reads the YAML as YAML 1.1: rendered as 1.1, every string that 1.1
 * would read as a boolean, a number or null (`yes`, `on`, `0755`, `~`) is
 * quoted, so podman decodes the same values the policy judged.
 */
export const PODMAN_YAML = { version: '1.1' } as const;

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

const pick = (object: Json, keys: readonly string[]): Json =>
  Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]));

const omit = (object: Json, keys: readonly string[]): Json =>
  Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));

/**
 * The pod spec as podman gets it. The runner owns restarts and probes:
 * - restartPolicy becomes Never, so podman's own policy (immediate restarts,
 *   forever, no backoff) never competes with the supervisor's backoff;
 * - probes are removed, so podman does not run a translated copy (4.3 breaks
 *   exec probes, and its healthcheck timers need systemd).
 * The unit keeps the real restartPolicy and the probes for the supervisor.
 */
const forPodman = (spec: PodSpec, pull: PullSetting): Json => ({
  ...spec,
  restartPolicy: 'Never',
  containers: spec.containers.map((container) => withPullPolicy(omit(container, PROBES), pull)),
  ...(spec.initContainers
    ? { initContainers: spec.initContainers.map((container) => withPullPolicy(omit(container, PROBES), pull)) }
    : {}),
});

/**
 * An explicit imagePullPolicy, always: podman 4.3–4.6 treat an unset one as
 * `newer` and contact the registry on every play. Not part of the hash (the
 * hash covers the manifest as written), so changing `pull` replaces no pod.
 */
const withPullPolicy = (container: Json, pull: PullSetting): Json => ({
  ...container,
  imagePullPolicy: effectivePullPolicy(
    String(container.image),
    container.imagePullPolicy as PullPolicy | undefined,
    pull,
  ),
});

const withPodSpec = (kind: WorkloadKind, object: Json, spec: Json): Json => {
  if (kind === 'Pod') return { ...object, spec };
  const outer = object.spec as Json;
  return { ...object, spec: { ...outer, template: { ...(outer.template as Json), spec } } };
};

const mergeLabels = (meta: unknown, labels: Record<string, string>): Json => {
  const base = (meta ?? {}) as Json;
  return { ...base, labels: { ...(base.labels ?? {}), ...labels } };
};

/** A copy of the workload with the runner's labels on the pod (and, for a Deployment, on the Deployment too). */
const withLabels = (kind: WorkloadKind, object: Json, labels: Record<string, string>): Json => {
  if (kind === 'Pod') return { ...object, metadata: mergeLabels(object.metadata, labels) };
  const spec = object.spec as Json;
  const template = spec.template as Json;
  return {
    ...object,
    metadata: mergeLabels(object.metadata, labels),
    spec: { ...spec, template: { ...template, metadata: mergeLabels(template.metadata, labels) } },
  };
};
