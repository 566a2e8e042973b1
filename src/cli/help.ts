import { DEFAULT_CONFIG, DEFAULT_CONFIG_PATH } from '../config/defaults.ts';

export const MAIN_HELP = `runner: Kubernetes static pods on podman, without a kubelet.

Usage:
  runner run [options]          watch a manifest directory and keep its pods running
  runner validate FILE|DIR...   check manifests offline (exit 0 valid, 1 invalid)
  runner images [--missing]     the images the manifests need: present, from which archive, used by
  runner status [POD]           what runs and what is wrong (exit 0 healthy, 1 degraded, 3 runner not running)
  runner events [-f] [POD]      the runner's own event history, newest last
  runner logs POD [-c NAME]     a container's output (podman logs)
  runner restart POD            restart a pod through the runner (recorded as Manual)
  runner doctor                 what on this host will stop pods from running, with fixes
                                (exit 0 nothing found, 1 errors, 3 warnings only)
  runner --version              print version, commit and embedded Node.js version
  runner --help                 this text; "runner COMMAND --help" for a command

Pods are created with "podman kube play" from the .yaml, .yml and .json files
directly in the manifest directory. Edit a file and its pod is replaced;
delete it and the pod goes; remove the pod by hand and it comes back.
`;

export const RUN_HELP = `Usage: runner run [options]

Watch a manifest directory and make podman run exactly what it describes.
Runs in the foreground; SIGINT/SIGTERM stop the runner and leave pods running.

Options (flags override the config file):
  --config FILE        YAML config file (default ${DEFAULT_CONFIG_PATH}; optional at the default path)
  --manifest-dir DIR   manifest directory (default ${DEFAULT_CONFIG.manifestDir})
  --state-dir DIR      state kept across restarts (default ${DEFAULT_CONFIG.stateDir})
  --images-dir DIR     image archives to load into podman (default ${DEFAULT_CONFIG.imagesDir})
  --pull POLICY        never, missing or always: the most any container may pull (default ${DEFAULT_CONFIG.pull})
  --log-level LEVEL    silent, error, warn, info, debug or trace (every podman call; default ${DEFAULT_CONFIG.logLevel})
  --log-format FORMAT  pretty or json (default: pretty on a terminal, json otherwise)
  -h, --help           this text
`;

export const VALIDATE_HELP = `Usage: runner validate FILE|DIR...

Check manifests without touching podman. For a directory, the same file rules
as "runner run" apply (ignored files are listed), and pod names must be unique
across its files. Every problem is printed as FILE:LINE:COLUMN: FIELD: MESSAGE.
The policy of the config file (allowed privileges, capabilities, hostPath
prefixes) is applied as "runner run" applies it.

Trust checks (a directory or file writable by group or others or owned by
another user, a symlink leading out of the directory) are printed as
warnings and do not change the exit status: validate is an offline check,
often run by a non-root CI user on a checkout. "runner run" refuses such files.

Options:
  --config FILE   YAML config file for the policy (default ${DEFAULT_CONFIG_PATH}; optional at the default path)
  -h, --help      this text

Exit status: 0 all valid, 1 a problem was found, 2 usage error.
`;

export const IMAGES_HELP = `Usage: runner images [options]

List every image the manifests reference: whether podman has it, which
archive in the images directory provided it (or provides it, if not loaded
yet), and which pods use it. Then the archives not loaded yet. Reads podman's
storage with "podman image exists"; never loads, pulls or changes anything.

Options (flags override the config file):
  --config FILE        YAML config file (default ${DEFAULT_CONFIG_PATH}; optional at the default path)
  --manifest-dir DIR   manifest directory (default ${DEFAULT_CONFIG.manifestDir})
  --images-dir DIR     image archives directory (default ${DEFAULT_CONFIG.imagesDir})
  --state-dir DIR      where images.json records loaded archives (default ${DEFAULT_CONFIG.stateDir})
  --missing            pre-flight check: exit 1 if any referenced image is missing
  --json               machine-readable output
  -h, --help           this text

Exit status: 0 (with --missing: nothing missing), 1 something missing (--missing) or an error, 2 usage error.
`;

const STATE_FLAGS = `  --config FILE        YAML config file (default ${DEFAULT_CONFIG_PATH}; optional at the default path)
  --state-dir DIR      the daemon's state directory (default ${DEFAULT_CONFIG.stateDir})`;

export const STATUS_HELP = `Usage: runner status [options] [POD]

A table like "kubectl get pods": one row per pod in the manifests, and one per
manifest file that cannot be applied. With POD: every detail about that pod:
containers, restarts and their reasons, probes, the manifest path and hash,
its problems, recent events. Reads the daemon's status file only (no lock,
no podman call); without a live daemon it says so, shows what podman
reports for the pods from the manifest directory, and reads the manifests
itself: a file with no pod is Pending, an invalid one gets its row.

Options (flags override the config file):
${STATE_FLAGS}
  --manifest-dir DIR   manifest directory, used when the daemon is not running (default ${DEFAULT_CONFIG.manifestDir})
  --json               the same data as a versioned JSON document (docs/status.md)
  -w, --watch          redraw every 2 seconds until Ctrl-C
  -h, --help           this text

Exit status (for monitoring checks: runner status >/dev/null):
  0  every pod runs (or has completed) and is ready, and every manifest is valid
  1  degraded: a pod crash-loops, fails, waits for an image, is not ready, a
     manifest is invalid, or podman does not answer
  2  usage error
  3  the runner is not running, or its status file is stale
`;

export const EVENTS_HELP = `Usage: runner events [options] [POD]

The runner's own history, oldest first: pods applied, replaced, removed,
restarted, probe failures, invalid manifests, images loaded. With POD, only
events about that pod.

Options:
${STATE_FLAGS}
  -f, --follow         keep printing new events as they happen (Ctrl-C to stop)
  --json               one JSON object a line, as stored in events.jsonl
  -h, --help           this text
`;

export const LOGS_HELP = `Usage: runner logs [options] POD

A container's output, through "podman logs". The pod is found by name among
the pods from the manifest directory; a pod with several containers needs -c.

Options:
  --config FILE        YAML config file (default ${DEFAULT_CONFIG_PATH}; optional at the default path)
  --manifest-dir DIR   manifest directory (default ${DEFAULT_CONFIG.manifestDir})
  -c, --container NAME the container (required when the pod has several)
  -f, --follow         keep streaming (Ctrl-C to stop)
  --tail N             only the last N lines
  -h, --help           this text

Exit status: podman's; 1 when the pod or container is not found.
`;

export const RESTART_HELP = `Usage: runner restart [options] POD

Asks the running daemon to restart POD's containers; the restart is recorded
in its history with reason Manual. Waits up to 30 seconds for the answer.

Options:
${STATE_FLAGS}
  -h, --help           this text

Exit status: 0 restarted, 1 refused or failed, 3 the runner is not running
(nothing recorded; "podman pod restart POD" restarts by hand).
`;

export const DOCTOR_HELP = `Usage: runner doctor [options]

Checks what on this host will stop pods from running, and names the fix for
each finding: podman missing or older than 4.3, no usable OCI runtime,
netavark or CNI without the firewall program they run (iptables, or nft for
netavark 1.14 and later), cgroup controllers podman needs (pids, unless
pids_limit = 0), podman's storage not writable, the manifest directory
missing or untrusted, the clock behind the runner's last record, the boot id
unreadable. Asks podman (version, info) and reads files; changes nothing.
"runner run" logs the same findings once at its start, as warnings.

Options (flags override the config file):
${STATE_FLAGS}
  --manifest-dir DIR   manifest directory (default ${DEFAULT_CONFIG.manifestDir})
  --json               the findings as JSON: {exitCode, findings: [{check, severity, message, fix}]}
  -h, --help           this text

Exit status: 0 nothing found, 1 an error (pods will not run), 2 usage error,
3 warnings only.
`;
