/**
 * Every command of `runner`, each defined once: flags, positional
 * arguments, help text and the module of its handler. `runner --help`,
 * `runner COMMAND --help`, the parsing, the dispatch and the bash and zsh
 * completions are generated from this table. Handlers are imported only
 * when their command runs: `runner status` does not evaluate the daemon.
 */
import { DEFAULT_CONFIG, DEFAULT_CONFIG_PATH } from '../config/defaults.ts';
import { PULL_SETTINGS } from '../desired/pull-policy.ts';
import { LOG_FORMATS, LOG_LEVELS } from '../shared/log-levels.ts';
import { defineCommand, flags, type CommandSpec, type OptionSpec } from './command-spec.ts';

type StringFlag = OptionSpec & { type: 'string' };
type BooleanFlag = OptionSpec & { type: 'boolean' };

const FLAGS_OVERRIDE = 'Options (flags override the config file):';

const configFlag = (what = 'YAML config file'): StringFlag => ({
  type: 'string',
  value: 'FILE',
  help: `${what} (default ${DEFAULT_CONFIG_PATH}; optional at the default path)`,
  complete: 'file',
});
const dirFlag = (what: string, fallback: string): StringFlag => ({
  type: 'string',
  value: 'DIR',
  help: `${what} (default ${fallback})`,
  complete: 'dir',
});
const manifestDirFlag = (what = 'manifest directory'): StringFlag => dirFlag(what, DEFAULT_CONFIG.manifestDir);
const stateDirFlag = (what = "the daemon's state directory"): StringFlag => dirFlag(what, DEFAULT_CONFIG.stateDir);
const jsonFlag = (help: string): BooleanFlag => ({ type: 'boolean', help });
const followFlag = (help: string): BooleanFlag => ({ type: 'boolean', short: 'f', help });

export const RUN_FLAGS = flags({
  config: configFlag(),
  'manifest-dir': manifestDirFlag(),
  'state-dir': stateDirFlag('state kept across restarts'),
  'images-dir': dirFlag('image archives to load into podman', DEFAULT_CONFIG.imagesDir),
  pull: {
    type: 'string',
    value: 'POLICY',
    help: `never, missing or always: the most any container may pull (default ${DEFAULT_CONFIG.pull})`,
    complete: PULL_SETTINGS,
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    help: `silent, error, warn, info, debug or trace (every podman call; default ${DEFAULT_CONFIG.logLevel})`,
    complete: LOG_LEVELS,
  },
  'log-format': {
    type: 'string',
    value: 'FORMAT',
    help: 'pretty or json (default: pretty on a terminal, json otherwise)',
    complete: LOG_FORMATS,
  },
});

export const RUN = defineCommand({
  name: 'run',
  synopsis: 'runner run [options]',
  summary: 'watch a manifest directory and keep its pods running',
  usage: 'runner run [options]',
  description: `Watch a manifest directory and make podman run exactly what it describes.
Runs in the foreground; SIGINT/SIGTERM stop the runner and leave pods running.`,
  optionsHeading: FLAGS_OVERRIDE,
  options: RUN_FLAGS,
  load: async () => (await import('./run-command.ts')).runForeground,
});

export const VALIDATE_FLAGS = flags({ config: configFlag('YAML config file for the policy') });

export const VALIDATE = defineCommand({
  name: 'validate',
  synopsis: 'runner validate FILE|DIR...',
  summary: 'check manifests offline (exit 0 valid, 1 invalid)',
  usage: 'runner validate FILE|DIR...',
  description: `Check manifests without touching podman. For a directory, the same file rules
as "runner run" apply (ignored files are listed), and pod names must be unique
across its files. Every problem is printed as FILE:LINE:COLUMN: FIELD: MESSAGE.
The policy of the config file (allowed privileges, capabilities, hostPath
prefixes) is applied as "runner run" applies it.

Trust checks (a directory or file writable by group or others or owned by
another user, a symlink leading out of the directory) are printed as
warnings and do not change the exit status: validate is an offline check,
often run by a non-root CI user on a checkout. "runner run" refuses such files.`,
  optionsHeading: 'Options:',
  options: VALIDATE_FLAGS,
  positionals: { name: 'FILE or DIR', min: 1, max: Infinity, complete: 'file' },
  exitStatus: 'Exit status: 0 all valid, 1 a problem was found, 2 usage error.',
  helpColumn: 16,
  load: async () => (await import('./validate-command.ts')).validateManifests,
});

export const IMAGES_FLAGS = flags({
  config: configFlag(),
  'manifest-dir': manifestDirFlag(),
  'images-dir': dirFlag('image archives directory', DEFAULT_CONFIG.imagesDir),
  'state-dir': stateDirFlag('where images.json records loaded archives'),
  missing: { type: 'boolean', help: 'pre-flight check: exit 1 if any referenced image is missing' },
  json: jsonFlag('machine-readable output'),
});

export const IMAGES = defineCommand({
  name: 'images',
  synopsis: 'runner images [--missing]',
  summary: 'the images the manifests need: present, from which archive, used by',
  usage: 'runner images [options]',
  description: `List every image the manifests reference: whether podman has it, which
archive in the images directory provided it (or provides it, if not loaded
yet), and which pods use it. Then the archives not loaded yet. Reads podman's
storage with "podman image exists"; never loads, pulls or changes anything.`,
  optionsHeading: FLAGS_OVERRIDE,
  options: IMAGES_FLAGS,
  exitStatus:
    'Exit status: 0 (with --missing: nothing missing), 1 something missing (--missing) or an error, 2 usage error.',
  load: async () => (await import('./images-command.ts')).listImages,
});

export const STATUS_FLAGS = flags({
  config: configFlag(),
  'state-dir': stateDirFlag(),
  'manifest-dir': manifestDirFlag('manifest directory, used when the daemon is not running'),
  json: jsonFlag('the same data as a versioned JSON document (docs/status.md)'),
  watch: { type: 'boolean', short: 'w', help: 'redraw every 2 seconds until Ctrl-C' },
});

export const STATUS = defineCommand({
  name: 'status',
  synopsis: 'runner status [POD]',
  summary: 'what runs and what is wrong (exit 0 healthy, 1 degraded, 3 runner not running)',
  usage: 'runner status [options] [POD]',
  description: `A table like "kubectl get pods": one row per pod in the manifests, and one per
manifest file that cannot be applied. With POD: every detail about that pod:
containers, restarts and their reasons, probes, the manifest path and hash,
its problems, recent events. Reads the daemon's status file only (no lock,
no podman call); without a live daemon it says so, shows what podman
reports for the pods from the manifest directory, and reads the manifests
itself: a file with no pod is Pending, an invalid one gets its row.`,
  optionsHeading: FLAGS_OVERRIDE,
  options: STATUS_FLAGS,
  positionals: { name: 'POD', min: 0, max: 1, complete: 'pod' },
  exitStatus: `Exit status (for monitoring checks: runner status >/dev/null):
  0  every pod runs (or has completed) and is ready, and every manifest is valid
  1  degraded: a pod crash-loops, fails, waits for an image, is not ready, a
     manifest is invalid, or podman does not answer
  2  usage error
  3  the runner is not running, or its status file is stale`,
  load: async () => (await import('./status-command.ts')).showStatus,
});

export const EVENTS_FLAGS = flags({
  config: configFlag(),
  'state-dir': stateDirFlag(),
  follow: followFlag('keep printing new events as they happen (Ctrl-C to stop)'),
  json: jsonFlag('one JSON object a line, as stored in events.jsonl'),
});

export const EVENTS = defineCommand({
  name: 'events',
  synopsis: 'runner events [-f] [POD]',
  summary: "the runner's own event history, newest last",
  usage: 'runner events [options] [POD]',
  description: `The runner's own history, oldest first: pods applied, replaced, removed,
restarted, probe failures, invalid manifests, images loaded. With POD, only
events about that pod.`,
  optionsHeading: 'Options:',
  options: EVENTS_FLAGS,
  positionals: { name: 'POD', min: 0, max: 1, complete: 'pod' },
  load: async () => (await import('./events-command.ts')).showEvents,
});

export const LOGS_FLAGS = flags({
  config: configFlag(),
  'manifest-dir': manifestDirFlag(),
  container: { type: 'string', short: 'c', value: 'NAME', help: 'the container (required when the pod has several)' },
  follow: followFlag('keep streaming (Ctrl-C to stop)'),
  tail: { type: 'string', value: 'N', help: 'only the last N lines' },
});

export const LOGS = defineCommand({
  name: 'logs',
  synopsis: 'runner logs POD [-c NAME]',
  summary: "a container's output (podman logs)",
  usage: 'runner logs [options] POD',
  description: `A container's output, through "podman logs". The pod is found by name among
the pods from the manifest directory; a pod with several containers needs -c.`,
  optionsHeading: 'Options:',
  options: LOGS_FLAGS,
  positionals: { name: 'POD', min: 1, max: 1, complete: 'pod' },
  exitStatus: "Exit status: podman's; 1 when the pod or container is not found.",
  load: async () => (await import('./logs-command.ts')).showLogs,
});

export const RESTART_FLAGS = flags({ config: configFlag(), 'state-dir': stateDirFlag() });

export const RESTART = defineCommand({
  name: 'restart',
  synopsis: 'runner restart POD',
  summary: 'restart a pod through the runner (recorded as Manual)',
  usage: 'runner restart [options] POD',
  description: `Asks the running daemon to restart POD's containers; the restart is recorded
in its history with reason Manual. Waits up to 30 seconds for the answer.`,
  optionsHeading: 'Options:',
  options: RESTART_FLAGS,
  positionals: { name: 'POD', min: 1, max: 1, complete: 'pod' },
  exitStatus: `Exit status: 0 restarted, 1 refused or failed, 3 the runner is not running
(nothing recorded; "podman pod restart POD" restarts by hand).`,
  load: async () => (await import('./restart-command.ts')).restartPod,
});

export const DOCTOR_FLAGS = flags({
  config: configFlag(),
  'state-dir': stateDirFlag(),
  'manifest-dir': manifestDirFlag(),
  json: jsonFlag('the findings as JSON: {exitCode, findings: [{check, severity, message, fix}]}'),
});

export const DOCTOR = defineCommand({
  name: 'doctor',
  synopsis: 'runner doctor',
  summary:
    'what on this host will stop pods from running, with fixes\n(exit 0 nothing found, 1 errors, 3 warnings only)',
  usage: 'runner doctor [options]',
  description: `Checks what on this host will stop pods from running, and names the fix for
each finding: podman missing or older than 4.3, no usable OCI runtime,
netavark or CNI without the firewall program they run (iptables, or nft for
netavark 1.14 and later), cgroup controllers podman needs (pids, unless
pids_limit = 0), podman's storage not writable, the manifest directory
missing or untrusted, the clock behind the runner's last record, the boot id
unreadable. Asks podman (version, info) and reads files; changes nothing.
"runner run" logs the same findings once at its start, as warnings.`,
  optionsHeading: FLAGS_OVERRIDE,
  options: DOCTOR_FLAGS,
  exitStatus: `Exit status: 0 nothing found, 1 an error (pods will not run), 2 usage error,
3 warnings only.`,
  load: async () => (await import('./doctor-command.ts')).runDoctor,
});

/** Hidden: prints the shell completion scripts (installed by the packages) and, for them, the pod names. */
export const COMPLETION_FLAGS = flags({ config: configFlag(), 'state-dir': stateDirFlag() });

export const COMPLETION = defineCommand({
  name: 'completion',
  synopsis: 'runner completion bash|zsh',
  summary: 'print the shell completion script',
  usage: 'runner completion [options] bash|zsh|pods',
  description: `Prints the completion script for bash or zsh, generated from the same
definition as this help; the packages install both. "pods" prints the pod
names of the status file, one a line, for the scripts to complete.`,
  optionsHeading: 'Options:',
  options: COMPLETION_FLAGS,
  positionals: { name: 'SHELL', min: 1, max: 1 },
  hidden: true,
  load: async () => (await import('./completion-command.ts')).printCompletion,
});

/** In the order of `runner --help`. */
export const COMMANDS: readonly CommandSpec[] = [
  RUN,
  VALIDATE,
  IMAGES,
  STATUS,
  EVENTS,
  LOGS,
  RESTART,
  DOCTOR,
  COMPLETION,
];

export const findCommand = (name: string): CommandSpec | undefined => COMMANDS.find((command) => command.name === name);
