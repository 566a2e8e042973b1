import { DEFAULT_PULL, type PullSetting } from '../desired/pull-policy.ts';
import { DEFAULT_TRUST, type TrustOptions } from '../manifest/trust.ts';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.ts';
import type { LOG_FORMATS, LOG_LEVELS } from '../shared/log-levels.ts';

/** The effective configuration, after defaults, the config file and flags. */
export interface RunnerConfig {
  manifestDir: string;
  stateDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Unset: pretty on a terminal, JSON otherwise (systemd/journald). */
  logFormat: (typeof LOG_FORMATS)[number] | undefined;
  resyncIntervalSeconds: number;
  parallelism: number;
  stopTimeoutSeconds: number;
  stopPodsOnExit: boolean;
  /** Group allowed to read status.json and events.jsonl (mode 0640); empty for root only. */
  statusGroup: string;
  /** Prometheus metrics: a node_exporter textfile path and/or a loopback listener; both off by default. */
  metrics: { textfile?: string; listen?: string };
  /** CrashLoopBackOff: the first restart is immediate, then initial, doubling to max; reset after resetAfter of clean running. */
  restartBackoff: { initialSeconds: number; maxSeconds: number; resetAfterSeconds: number };
  /**
   * timeoutSeconds bounds every podman call. execOverheadSeconds is added to
   * an exec probe's timeoutSeconds: what `podman exec` itself costs before the
   * command runs (0.3 s idle, 0.7 s busy on a 2-core box), which the kubelet's
   * 1 s default would otherwise count against the container.
   */
  podman: { path: string; timeoutSeconds: number; execOverheadSeconds: number };
  /** Image archives loaded into podman's storage at start and when added (src/images/). */
  imagesDir: string;
  /** Ceiling for every container's imagePullPolicy: never, missing or always (src/desired/pull-policy.ts). */
  pull: PullSetting;
  /** Owner/mode checks on the manifest directory and files, and the symlink rule (src/manifest/trust.ts, SECURITY.md). */
  trust: TrustOptions;
  /** What a manifest may ask of the host (src/policy/policy.ts). */
  policy: Policy;
}

export { DEFAULT_CONFIG_PATH } from '../shared/config-path.ts';

export const DEFAULT_CONFIG: RunnerConfig = {
  manifestDir: '/etc/runner/manifests',
  stateDir: '/var/lib/runner',
  logLevel: 'info',
  logFormat: undefined,
  resyncIntervalSeconds: 300,
  parallelism: 4,
  stopTimeoutSeconds: 10,
  stopPodsOnExit: false,
  statusGroup: 'adm',
  metrics: {},
  restartBackoff: { initialSeconds: 10, maxSeconds: 300, resetAfterSeconds: 600 },
  podman: { path: 'podman', timeoutSeconds: 120, execOverheadSeconds: 1 },
  imagesDir: '/var/lib/runner/images',
  pull: DEFAULT_PULL,
  trust: DEFAULT_TRUST,
  policy: DEFAULT_POLICY,
};
