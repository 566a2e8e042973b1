import { RunnerError } from '../shared/errors.ts';

/**
 * What went wrong, as far as the runner acts on it. The driver is the only
 * module that reads podman's error text; everything else decides on the kind.
 *
 * - `podman-missing`: the executable is not there.
 * - `not-found`: the pod, container, secret or volume named does not exist.
 * - `name-in-use`: a pod or container of that name exists (the call made nothing).
 * - `image-missing`: the image is not in local storage and may not be pulled.
 * - `network-setup`: the container network could not be set up (netavark,
 *   CNI, the firewall programs they run).
 * - `runtime-missing`: the configured OCI runtime (crun, runc) is not found.
 * - `timeout`: podman did not answer in time.
 * - `other`: anything else; the message still carries podman's cause.
 */
export type PodmanErrorKind =
  | 'podman-missing'
  | 'not-found'
  | 'name-in-use'
  | 'image-missing'
  | 'network-setup'
  | 'runtime-missing'
  | 'timeout'
  | 'other';

/** A podman call that failed, with everything needed to explain it. */
export class PodmanError extends RunnerError {
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly kind: PodmanErrorKind;
  /** podman's own line naming the root cause (`netavark: No such file or directory (os error 2)`), or "" when it printed none. */
  readonly causeLine: string;

  constructor(details: {
    args: readonly string[];
    exitCode?: number;
    stderr: string;
    timedOut: boolean;
    message: string;
    cause?: unknown;
    kind?: PodmanErrorKind;
  }) {
    super(details.timedOut ? 'PODMAN_TIMEOUT' : 'PODMAN_FAILED', details.message, { cause: details.cause });
    this.name = 'PodmanError';
    this.args = details.args;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.timedOut = details.timedOut;
    const classified = classifyPodmanStderr(details.stderr);
    this.kind = details.kind ?? (details.timedOut ? 'timeout' : classified.kind);
    this.causeLine = classified.causeLine;
  }
}

/** The kind of a failed podman call; undefined for anything that is not a PodmanError. */
export const podmanErrorKind = (error: unknown): PodmanErrorKind | undefined =>
  error instanceof PodmanError ? error.kind : undefined;

/** Noise podman prints on hosts without syslog; never a cause. */
const NOISE = 'failed to connect to syslog';
/** logrus lines: `time="…" level=warning msg="…"`. Warnings, not the error. */
const LOGRUS = /^time="[^"]*" level=\w+ msg=/;
/**
 * `kube play` prints one line per container that did not start (podman
 * 4.3.1 and 5.4.2, cmd/podman/kube/play.go: ContainerErrors to stderr), then
 * only `Error: failed to start N containers`; `pod start` prints the same
 * lines with `Error: ` in front, and no summary (4.3.1). The line of the container that
 * failed is the cause; its pod mates fail with "a dependency of container …
 * failed to start", which says nothing.
 */
const START_ERROR = /^starting container ([0-9a-f]{12,64}): (.*)$/;
const DEPENDENCY = /^a dependency of container [0-9a-f]+ failed to start/;

interface Lines {
  errors: string[];
  starts: string[];
  plain: string[];
}

const splitStderr = (stderr: string): Lines => {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.includes(NOISE));
  const errors: string[] = [];
  const starts: string[] = [];
  const plain: string[] = [];
  for (const line of lines) {
    // `pod start` (src/podman/play-kept.ts) prints each container's start error as an `Error:` line of its own.
    const start = START_ERROR.exec(line.startsWith('Error: starting container ') ? line.slice('Error: '.length) : line);
    if (line.startsWith('Error:') && !start) errors.push(line.slice('Error:'.length).trim());
    // A multi-error (`Error: payload does not match any of the supported image formats:` then ` * oci: …` lines): the items are the cause.
    else if (line.startsWith('* ') && errors.length > 0) {
      const last = errors.pop()!;
      errors.push(last.endsWith(':') ? `${last} ${line.slice(2)}` : `${last}, ${line.slice(2)}`);
    } else if (start) {
      if (!DEPENDENCY.test(start[2]!)) starts.push(`container ${start[1]!.slice(0, 12)}: ${start[2]!}`);
    } else if (!LOGRUS.test(line)) plain.push(line);
  }
  return { errors, starts, plain };
};

/**
 * The meaningful part of podman's stderr: its `Error:` lines, followed by
 * the start error of each container that failed on its own; plain lines when
 * there is no `Error:` line. Without the noise podman prints on hosts
 * without syslog, and without its logrus warnings.
 */
export const podmanErrorText = (stderr: string): string => {
  const { errors, starts, plain } = splitStderr(stderr);
  return (errors.length > 0 || starts.length > 0 ? [...errors, ...starts] : plain).join('; ').slice(0, 2000);
};

/**
 * Patterns over podman's own error strings, checked against podman 4.3.1 and
 * 5.4.2's source (libpod/define/errors.go, libpod/runtime.go,
 * libpod/oci_conmon_common.go, the boltdb and sqlite states, containers/common
 * libimage and libnetwork, libcni) and, where noted, seen on 4.3.1 here.
 * Order matters: the first kind that matches wins.
 */
const KINDS: [Exclude<PodmanErrorKind, 'podman-missing' | 'timeout' | 'other'>, RegExp][] = [
  // `default OCI runtime "crun" not found: invalid argument` (seen), `no valid executable found for OCI runtime runc: invalid argument`.
  [
    'runtime-missing',
    /OCI runtime "?[^"\s]*"? not found|no valid executable found for OCI runtime|could not find a working binary/i,
  ],
  // netavark: `netavark: No such file or directory (os error 2)`, `netavark (exit code 1): …`; CNI: `plugin type="bridge" failed (add): … failed to locate iptables` (seen).
  [
    'network-setup',
    /(^|: )netavark( \(exit code \d+\))?:|aardvark|plugin type="[^"]*" failed|cni plugin \S+ failed|failed to locate (iptables|nft)|setting up network|network namespace for container|slirp4netns failed|pasta failed/i,
  ],
  // storage `image not known`, libimage `… : image not known` with pull policy never, docker `unable to find image`.
  [
    'image-missing',
    /image not known|no such image|unable to find image|image .* not found|not found in (local )?storage|pull policy.*never/i,
  ],
  // boltdb `name "web" is in use: pod already exists`, sqlite `name "web" is in use: pod already exists` (5.x);
  // storage, for `run --name`: `the container name "x" is already in use by <id>. … : that name is already in use`.
  [
    'name-in-use',
    /is in use: (pod|container) already exists|: (pod|container) already exists$|that name is already in use/i,
  ],
  // define.ErrNoSuchPod/Ctr/Secret/Volume: `no pod with name or ID web found: no such pod`.
  ['not-found', /no such (pod|container|secret|volume)\b/i],
];

const kindOf = (text: string): PodmanErrorKind | undefined => KINDS.find(([, pattern]) => pattern.test(text))?.[0];

/**
 * Classifies podman's stderr. The root cause is the first container start
 * error when there is one, else the last `Error:` line (podman prints one),
 * else the first plain line; the kind is decided on the root cause first and
 * on the rest of the text only when the cause says nothing.
 */
export const classifyPodmanStderr = (stderr: string): { kind: PodmanErrorKind; causeLine: string } => {
  const { errors, starts, plain } = splitStderr(stderr);
  const causeLine = (starts[0] ?? errors.at(-1) ?? plain[0] ?? '').slice(0, 2000);
  const kind = kindOf(causeLine) ?? kindOf([...starts, ...errors].join('\n')) ?? 'other';
  return { kind, causeLine };
};
