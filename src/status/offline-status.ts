import type { DesiredState } from '../desired/desired-state.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import type { PodmanPod } from '../podman/podman.ts';
import type { ObservedPod } from '../reconciler/observed-pods.ts';
import { HASH_LABEL, SOURCE_LABEL, UNIT_LABEL } from '../shared/ownership.ts';
import type { PodStatus, PodStatusName, StatusDocument } from './status-schema.ts';
import { compareText } from '../shared/compare-text.ts';

/**
 * What `runner status` can say with no live daemon: the managed pods podman
 * reports, set against what the manifest directory asks for now. A manifest
 * with no pod gets a Pending row (nothing creates it while the runner is
 * down), a pod whose file changed or went away says so, and an invalid file
 * gets its row as it would from the daemon. Without `desired` (the directory
 * could not be read) it is podman's view alone. Pure.
 */
export const offlineStatus = (
  observed: readonly ObservedPod[],
  desired: DesiredState | undefined,
): { pods: PodStatus[]; invalidManifests: StatusDocument['invalidManifests'] } => {
  const managed = observed.filter((pod) => pod.key !== undefined);
  const pods = managed.map((pod) => {
    const row = podFromPodman(pod);
    if (!desired) return row;
    const held = desired.heldFiles.get(row.source);
    if (held) return { ...row, manifestProblems: held.map(formatProblem) };
    const unit = desired.units.find((item) => item.key === pod.key);
    const drift = !unit
      ? 'its manifest is gone: the runner removes this pod when it runs'
      : unit.hash !== pod.hash
        ? 'its manifest changed: the runner replaces this pod when it runs'
        : undefined;
    return drift ? { ...row, message: row.message ? `${row.message}; ${drift}` : drift } : row;
  });
  const running = new Set(managed.map((pod) => pod.key));
  for (const unit of desired?.units ?? []) if (!running.has(unit.key)) pods.push(pendingRow(unit));
  const invalidManifests = [...(desired?.heldFiles ?? new Map<string, ManifestProblem[]>())]
    .map(([file, problems]) => ({ file, problems: problems.map(formatProblem) }))
    .sort((a, b) => compareText(a.file, b.file));
  return {
    pods: pods.sort((a, b) => compareText(a.name, b.name) || compareText(a.source, b.source)),
    invalidManifests,
  };
};

const pendingRow = (unit: DesiredUnit): PodStatus => ({
  name: unit.name,
  unit: unit.unit,
  source: unit.file,
  hash: unit.hash,
  status: 'Pending',
  message: 'no pod: nothing creates it while the runner is not running',
  restartPolicy: unit.restartPolicy,
  readyContainers: 0,
  totalContainers: unit.containers.length,
  restarts: 0,
  manifestProblems: [],
  containers: unit.containers.map((container) => ({
    name: container.name,
    image: container.image,
    state: 'missing',
    ready: false,
    restartCount: 0,
    recentRestarts: [],
    probes: {},
  })),
});

const POD_STATUS_FROM_PODMAN: Record<string, PodStatusName> = { Running: 'Running', Created: 'ContainerCreating' };

/** What podman alone can say about a managed pod: no restart history, probes or images. */
export const podFromPodman = (pod: PodmanPod): PodStatus => {
  const unit = pod.labels[UNIT_LABEL] ?? `Pod/${pod.name}`;
  const infra = `${pod.id.slice(0, 12)}-infra`;
  const containers = pod.containers
    .filter((container) => container.name !== infra)
    .map((container) => ({
      name: container.name.startsWith(`${pod.name}-`) ? container.name.slice(pod.name.length + 1) : container.name,
      id: container.id,
      image: '',
      state: container.status,
      ready: container.status === 'running',
      restartCount: 0,
      recentRestarts: [],
      probes: {},
    }));
  const status = POD_STATUS_FROM_PODMAN[pod.status] ?? 'Unknown';
  const running = containers.filter((container) => container.ready).length;
  const created = Date.parse(pod.created);
  return {
    name: unit.slice(unit.indexOf('/') + 1),
    unit,
    source: pod.labels[SOURCE_LABEL] ?? '',
    ...(pod.labels[HASH_LABEL] ? { hash: pod.labels[HASH_LABEL] } : {}),
    status,
    ...(status === 'Unknown'
      ? { message: `podman reports the pod ${pod.status} (${running} of ${containers.length} containers running)` }
      : {}),
    podId: pod.id,
    podName: pod.name,
    podmanStatus: pod.status,
    restartPolicy: '',
    readyContainers: running,
    totalContainers: containers.length,
    restarts: 0,
    ...(Number.isFinite(created) ? { createdAt: created } : {}),
    manifestProblems: [],
    containers,
  };
};
