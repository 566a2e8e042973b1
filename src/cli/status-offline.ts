import { buildDesiredState, type DesiredState } from '../desired/desired-state.ts';
import { readManifestDir } from '../manifest/read-manifest-dir.ts';
import { currentOwners, observePods, type ObservedPod } from '../reconciler/observed-pods.ts';
import { offlineStatus } from '../status/offline-status.ts';
import type { StatusReading } from '../status/read-status.ts';
import { describeError } from '../shared/errors.ts';
import { buildReport, type StatusReport } from './render-report.ts';
import type { RenderInput } from './status-command.ts';

/**
 * `runner status` with no live daemon: its file (if any) no longer says what
 * runs, so podman is asked and the manifests are read as the daemon would.
 * Imported by status-command only on that path (see gatherReport there).
 */
export const gatherOfflineReport = async (
  options: RenderInput,
  reading: Exclude<StatusReading, { kind: 'live' }>,
): Promise<StatusReport> => {
  const state = reading.kind === 'stale' ? 'stale' : 'absent';
  const daemonDoc = reading.kind === 'stale' ? { ...reading.doc.daemon, podmanError: undefined } : {};
  let observed: ObservedPod[] = [];
  let podmanError: string | undefined;
  try {
    observed = observePods(await options.podman.listPods(), options.manifestDir);
  } catch (error) {
    podmanError = describeError(error);
  }
  const desired = await readDesiredOffline(options, observed);
  const { pods, invalidManifests } = offlineStatus(observed, podmanError === undefined ? desired : undefined);
  return buildReport({
    daemon: {
      state,
      reason: reading.reason,
      doc: { ...stripUndefined(daemonDoc), ...(podmanError ? { podmanError } : {}) },
    },
    observedBy: 'podman',
    manifestDir: options.manifestDir,
    // Without podman's list, a manifest's missing pod proves nothing: only the files' problems are shown.
    pods,
    invalidManifests: podmanError === undefined ? invalidManifests : offlineStatus([], desired).invalidManifests,
  });
};

/**
 * The manifest directory read as the daemon would read it (same trust and
 * policy). Undefined when that is not possible for this caller: the
 * directory or one of its files is unreadable (a non-root user in the
 * status group), which must not show up as an invalid manifest.
 */
const readDesiredOffline = async (
  options: RenderInput,
  observed: readonly ObservedPod[],
): Promise<DesiredState | undefined> => {
  try {
    const snapshot = await readManifestDir(options.manifestDir, {
      trust: options.trust,
      policy: options.policy,
      trustMode: 'enforce',
    });
    if (snapshot.files.some((manifest) => manifest.problems.some((problem) => UNREADABLE.test(problem.message))))
      return undefined;
    return buildDesiredState({
      snapshot,
      currentOwners: currentOwners(observed),
      lastApplied: [],
      defaultStopTimeoutSeconds: 0,
    });
  } catch {
    return undefined;
  }
};

const UNREADABLE = /^cannot read: (EACCES|EPERM)$/;

const stripUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
