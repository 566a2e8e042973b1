import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Podman } from '../podman/podman.ts';
import type { Policy } from '../policy/policy.ts';
import type { TrustOptions } from '../manifest/trust.ts';
import { RunnerError } from '../shared/errors.ts';
import { printable, printableJson } from '../shared/printable.ts';
import { readEvents, readStatus, type ReadStatusOptions } from '../status/read-status.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { STATUS, STATUS_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';
import { CLEAR_SCREEN, shouldColour } from './render-colour.ts';
import { isAboutPod } from './render-events.ts';
import { renderDetail } from './render-detail.ts';
import { buildReport, EXIT_DEGRADED, EXIT_NOT_RUNNING, reportForPod, type StatusReport } from './render-report.ts';
import { renderTable } from './render-table.ts';

export interface StatusDeps {
  now?: () => number;
  /** Only consulted when no live daemon wrote the status. */
  podman?: Pick<Podman, 'listPods'>;
  read?: ReadStatusOptions;
  colour?: boolean;
  timeZone?: 'local' | 'UTC';
  /** `--watch` ends when this aborts (besides SIGINT); for tests. */
  signal?: AbortSignal;
  watchIntervalMs?: number;
}

/** `--watch` redraws this often. */
const WATCH_INTERVAL_MS = 2000;
/** A monitoring check must not hang for podman's generous default timeout. */
const PODMAN_TIMEOUT_MS = 10_000;

/**
 * `runner status [POD]`. With a live daemon it reads only the status file
 * (no podman call, no lock); without one it says so on the first line, shows
 * what podman reports for the pods labelled from this manifest directory,
 * and exits 3. Exit codes: docs/status.md.
 */
export const statusCommand = (argv: string[], write: Write, deps: StatusDeps = {}): Promise<number> =>
  invokeCommand(STATUS, argv, write, deps);

/** The handler of STATUS (src/cli/commands.ts), given its parsed command line. */
export const showStatus = async (
  { values, positionals }: ParsedArgs<typeof STATUS_FLAGS>,
  write: Write,
  deps: StatusDeps = {},
): Promise<number> => {
  if (values.watch && values.json) throw new RunnerError('USAGE', '--watch and --json cannot be combined');
  const config = await loadCliConfig(values);
  const options: RenderInput = {
    stateDir: config.stateDir,
    manifestDir: config.manifestDir,
    pod: positionals[0],
    json: values.json === true,
    now: deps.now ?? Date.now,
    // The podman driver (execa) is loaded only when there is no live daemon to read.
    podman: deps.podman ?? {
      listPods: async (callOptions) => {
        const { CliPodman } = await import('../podman/cli-podman.ts');
        return new CliPodman({
          path: config.podman.path,
          timeoutMs: Math.min(PODMAN_TIMEOUT_MS, config.podman.timeoutSeconds * 1000),
        }).listPods(callOptions);
      },
    },
    read: deps.read,
    colour: deps.colour ?? (!values.json && shouldColour(process.stdout)),
    timeZone: deps.timeZone ?? 'local',
    trust: config.trust,
    policy: config.policy,
  };
  if (!values.watch) {
    const { text, code } = await renderOnce(options);
    write(text);
    return code;
  }
  return watch(options, write, { signal: deps.signal, intervalMs: deps.watchIntervalMs ?? WATCH_INTERVAL_MS });
};

export interface RenderInput {
  stateDir: string;
  manifestDir: string;
  pod: string | undefined;
  json: boolean;
  now: () => number;
  podman: Pick<Podman, 'listPods'>;
  read: ReadStatusOptions | undefined;
  colour: boolean;
  timeZone: 'local' | 'UTC';
  /** The daemon's trust and policy settings, to read the manifests as it would when it is not running. */
  trust: TrustOptions;
  policy: Policy;
}

/** Redraws until SIGINT (or `signal`); returns the exit code of the last frame. */
const watch = async (
  options: RenderInput,
  write: (text: string) => void,
  { signal, intervalMs }: { signal: AbortSignal | undefined; intervalMs: number },
): Promise<number> => {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  let code = 0;
  try {
    while (!controller.signal.aborted) {
      const rendered = await renderOnce(options);
      code = rendered.code;
      write(`${CLEAR_SCREEN}${rendered.text}`);
      // One listener per wait, removed when it ends: hours of --watch add none up.
      await sleep(intervalMs, undefined, { signal: controller.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', stop);
    signal?.removeEventListener('abort', stop);
  }
  return code;
};

export const renderOnce = async (options: RenderInput): Promise<{ text: string; code: number }> => {
  const now = options.now();
  const report = await gatherReport(options, now);
  if (options.pod === undefined) {
    return {
      text: options.json
        ? `${printableJson(JSON.stringify(report, null, 2))}\n`
        : renderTable(report, { now, colour: options.colour }),
      code: report.summary.exitCode,
    };
  }
  const name = options.pod;
  const pods = report.pods.filter((pod) => pod.name === name || pod.podName === name);
  const files = new Set([
    ...pods.map((pod) => pod.source),
    ...report.invalidManifests
      .filter((item) => path.basename(item.file) === name || path.basename(item.file, path.extname(item.file)) === name)
      .map((item) => item.file),
  ]);
  if (pods.length === 0 && files.size === 0) {
    const where =
      report.observedBy === 'podman'
        ? `podman has no pod "${name}" from ${options.manifestDir}`
        : `no pod or manifest "${name}" in ${options.manifestDir}`;
    return {
      text: `${printable(where)} (runner status lists them)\n`,
      code: report.daemon.state === 'running' ? EXIT_DEGRADED : EXIT_NOT_RUNNING,
    };
  }
  const narrowed = reportForPod(report, pods, files);
  if (options.json)
    return { text: `${printableJson(JSON.stringify(narrowed, null, 2))}\n`, code: narrowed.summary.exitCode };
  const pod = pods[0];
  const problems = narrowed.invalidManifests.flatMap((item) => item.problems);
  const events = (await readEvents(options.stateDir)).filter((event) =>
    pod ? isAboutPod(event, pod.name, pod.source) : files.has(event.file ?? ''),
  );
  return {
    text: renderDetail(narrowed, pod, problems, { now, colour: options.colour, timeZone: options.timeZone, events }),
    code: narrowed.summary.exitCode,
  };
};

const gatherReport = async (options: RenderInput, now: number): Promise<StatusReport> => {
  const reading = await readStatus(options.stateDir, now, options.read);
  if (reading.kind === 'live') {
    const { doc } = reading;
    return buildReport({
      daemon: { state: 'running', doc: doc.daemon },
      observedBy: 'daemon',
      manifestDir: doc.manifestDir,
      pods: doc.pods,
      invalidManifests: doc.invalidManifests,
    });
  }
  // Loaded only without a live daemon: the manifest parser, the desired state
  // and their dependencies (yaml's writer, node:crypto) were a third of a
  // live status's own time, spent evaluating modules it never calls.
  return (await import('./status-offline.ts')).gatherOfflineReport(options, reading);
};
