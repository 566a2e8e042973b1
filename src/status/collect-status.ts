import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import type { ReconcilerView } from '../reconciler/reconciler.ts';
import type { ContainerView } from '../supervisor/supervisor.ts';
import {
  STATUS_API_VERSION,
  type ContainerStatus,
  type PodStatus,
  type PodStatusName,
  type ProbeStateView,
  type StatusDocument,
} from './status-schema.ts';
import { compareText } from '../shared/compare-text.ts';

/** What the probe manager knows about one container, keyed `<unitKey>/<container>`. */
export interface ProbeView {
  started: boolean;
  ready: boolean;
  liveness?: ProbeStateView;
  readiness?: ProbeStateView;
  startup?: ProbeStateView;
}

export interface StatusInputs {
  now: number;
  manifestDir: string;
  daemon: StatusDocument['daemon'];
  reconciler: ReconcilerView;
  containers: (unitKey: string) => ContainerView[];
  probes: (containerKey: string) => ProbeView | undefined;
  probeFailures: Record<string, number>;
  /** Why a unit cannot start for want of an image, when the image loader knows. */
  imageMissing?: (unit: DesiredUnit) => string | undefined;
}

/**
 * Builds the status document from what the daemon's parts know. Pure. The
 * status names follow `kubectl get pods` where Kubernetes has one.
 */
export const collectStatus = (inputs: StatusInputs): StatusDocument => {
  const { reconciler } = inputs;
  const units = reconciler.desired?.units ?? [];
  const heldFiles = reconciler.desired?.heldFiles ?? new Map<string, ManifestProblem[]>();
  const pods = units.map((unit) => podStatus(unit, inputs, (heldFiles.get(unit.file) ?? []).map(formatProblem)));
  return {
    apiVersion: STATUS_API_VERSION,
    kind: 'Status',
    daemon: inputs.daemon,
    manifestDir: inputs.manifestDir,
    pods: pods.sort((a, b) => compareText(a.name, b.name) || compareText(a.source, b.source)),
    invalidManifests: [...heldFiles.entries()]
      .map(([file, problems]) => ({ file, problems: problems.map(formatProblem) }))
      .sort((a, b) => compareText(a.file, b.file)),
    counters: { probeFailures: { ...inputs.probeFailures } },
  };
};

const podStatus = (unit: DesiredUnit, inputs: StatusInputs, manifestProblems: string[]): PodStatus => {
  const { reconciler, now } = inputs;
  const pods = reconciler.observed.filter((pod) => pod.key === unit.key);
  const pod = pods.find((item) => item.hash === unit.hash) ?? pods[0];
  const views = pod ? inputs.containers(unit.key) : [];
  const containers: ContainerStatus[] = unit.containers.map((desired) => {
    const view = views.find((item) => item.name === desired.name);
    const probe = inputs.probes(`${unit.key}/${desired.name}`);
    const running = view?.state === 'running';
    return {
      name: desired.name,
      ...(view?.id ? { id: view.id } : {}),
      image: desired.image,
      state: view?.state ?? 'missing',
      ready: running && (probe ? probe.started && probe.ready : true),
      ...(view?.exitCode !== undefined ? { exitCode: view.exitCode } : {}),
      ...(view?.startedAt !== undefined ? { startedAt: view.startedAt } : {}),
      restartCount: view?.history.restartCount ?? 0,
      ...(view?.history.lastReason ? { lastReason: view.history.lastReason } : {}),
      ...(view?.history.lastExitCode !== undefined ? { lastExitCode: view.history.lastExitCode } : {}),
      ...(view?.history.lastRestartAt !== undefined ? { lastRestartAt: view.history.lastRestartAt } : {}),
      ...(view?.history.nextRestartAt !== undefined && view.history.nextRestartAt > now - 1000
        ? { nextRestartAt: view.history.nextRestartAt }
        : {}),
      recentRestarts: view ? view.history.recent.map((event) => ({ ...event })) : [],
      probes: {
        ...(probe?.liveness ? { liveness: probe.liveness } : {}),
        ...(probe?.readiness ? { readiness: probe.readiness } : {}),
        ...(probe?.startup ? { startup: probe.startup } : {}),
      },
    };
  });
  const { status, message } = decide(unit, inputs, pod?.status, containers);
  const lastRestartAt = Math.max(...containers.map((container) => container.lastRestartAt ?? 0));
  const created = pod ? Date.parse(pod.created) : Number.NaN;
  return {
    name: unit.name,
    unit: unit.unit,
    source: unit.file,
    hash: unit.hash,
    status,
    ...(message ? { message } : {}),
    ...(pod ? { podId: pod.id, podName: pod.name, podmanStatus: pod.status } : {}),
    restartPolicy: unit.restartPolicy,
    readyContainers: containers.filter((container) => container.ready).length,
    totalContainers: containers.length,
    restarts: containers.reduce((sum, container) => sum + container.restartCount, 0),
    ...(lastRestartAt > 0 ? { lastRestartAt } : {}),
    ...(Number.isFinite(created) ? { createdAt: created } : {}),
    manifestProblems,
    containers,
  };
};

const decide = (
  unit: DesiredUnit,
  inputs: StatusInputs,
  podmanStatus: string | undefined,
  containers: ContainerStatus[],
): { status: PodStatusName; message?: string } => {
  const { reconciler } = inputs;
  const blocked = reconciler.blocked.get(unit.key);
  if (blocked) return { status: 'Conflict', message: blocked };
  const action = reconciler.inFlight.get(unit.key);
  // The last failure of this spec (a failure of an older spec is no news).
  const failed = reconciler.failures.get(unit.key);
  const failure = failed?.hash === unit.hash ? failed : undefined;
  if (action === 'remove') return { status: 'Terminating' };
  if (action === 'create' || action === 'replace') {
    // A retry of a play that failed says what failed last, not only that it tries.
    const doing = action === 'replace' ? 'replacing the pod with the new spec' : undefined;
    const message = failure
      ? `${doing ?? 'creating the pod'}, attempt ${failure.count + 1}; the last failed: ${failure.message}`
      : doing;
    return { status: 'ContainerCreating', ...(message ? { message } : {}) };
  }
  if (!podmanStatus) {
    const missing = inputs.imageMissing?.(unit);
    if (missing) return { status: 'ImageMissing', message: missing };
    if (failure) {
      return failure.imageMissing
        ? { status: 'ImageMissing', message: failure.message.replace(/^ImageMissing: /, '') }
        : { status: 'Error', message: failure.message };
    }
    return { status: 'Pending', message: 'waiting to be created' };
  }
  if (podmanStatus === 'Created') return { status: 'ContainerCreating' };
  const backingOff = containers.find(
    (container) => container.nextRestartAt !== undefined && container.state !== 'running',
  );
  if (backingOff) {
    // No countdown here: the document may be read seconds after it was
    // written; readers compute "next restart in …" from nextRestartAt.
    return {
      status: 'CrashLoopBackOff',
      message: `back-off restarting failed container ${backingOff.name} (exit code ${backingOff.lastExitCode ?? backingOff.exitCode ?? '?'}, ${backingOff.lastReason ?? 'Exited'})`,
    };
  }
  if (containers.every((container) => container.state === 'running')) return { status: 'Running' };
  const exited = containers.filter((container) => container.state !== 'running');
  // An exit the host's reboot or power cut caused is no completion, whatever
  // its code: Always and OnFailure run the container again (the supervisor),
  // Never leaves it down, Failed (README, "Reboots and power cuts").
  const byReboot = (container: ContainerStatus): boolean => container.lastReason === 'HostRebooted';
  const done = exited.every(
    (container) =>
      container.state === 'exited' &&
      !(
        unit.restartPolicy === 'Always' ||
        (unit.restartPolicy === 'OnFailure' && (container.exitCode !== 0 || byReboot(container)))
      ),
  );
  if (done && containers.every((container) => container.state === 'exited')) {
    return containers.every((container) => container.exitCode === 0 && !byReboot(container))
      ? { status: 'Completed' }
      : { status: 'Failed', message: exitSummary(exited) };
  }
  if (done) return { status: 'Running', message: exitSummary(exited) };
  return { status: 'Error', message: exitSummary(exited) };
};

const exitSummary = (containers: ContainerStatus[]): string =>
  containers
    .map(
      (container) =>
        `container ${container.name} ${container.state}${container.lastReason === 'HostRebooted' ? ' when the host went down (HostRebooted)' : container.exitCode !== undefined ? ` with code ${container.exitCode}` : ''}`,
    )
    .join('; ');

/**
 * One line for systemd's STATUS= (`systemctl status runner` shows it):
 * `12/12 pods ready`, plus invalid manifests and podman trouble when there are.
 */
export const statusSummary = (doc: StatusDocument): string => {
  const ready = doc.pods.filter(
    (pod) => pod.status === 'Completed' || (pod.status === 'Running' && pod.readyContainers === pod.totalContainers),
  ).length;
  const parts = [`${ready}/${doc.pods.length} pods ready`];
  if (doc.invalidManifests.length > 0) parts.push(`${doc.invalidManifests.length} invalid manifest(s)`);
  if (doc.daemon.podmanError !== undefined) parts.push('podman not answering');
  return parts.join(', ');
};
