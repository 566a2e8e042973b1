import * as v from 'valibot';
import { parseLoopbackListen } from '../status/metrics-listen.ts';

const isLoopbackListen = (listen: string): boolean => {
  try {
    parseLoopbackListen(listen);
    return true;
  } catch {
    return false;
  }
};
import { PULL_SETTINGS } from '../desired/pull-policy.ts';
import { POLICY_LEVELS } from '../policy/policy.ts';
import { LOG_FORMATS, LOG_LEVELS } from '../shared/log-levels.ts';

const positive = (what: string) =>
  v.pipe(v.number(`${what} must be a number`), v.minValue(0, `${what} must not be negative`));
const toggle = v.picklist(['allow', 'deny'], 'must be allow or deny');
const absolutePaths = v.array(
  v.pipe(v.string('must be a path'), v.startsWith('/', 'must be an absolute path')),
  'must be a list of absolute paths',
);
const isPort = (value: number): boolean => Number.isInteger(value) && value >= 1 && value <= 65535;
/** A host port (80) or an inclusive range ("8000-8099"). */
const PORT_RANGE = 'must be a port (1-65535) or a range such as 8000-8099';
const portRange = v.union(
  [
    v.pipe(v.number(PORT_RANGE), v.check(isPort, PORT_RANGE)),
    v.pipe(
      v.string(PORT_RANGE),
      v.regex(/^\d+-\d+$/, PORT_RANGE),
      v.check((range) => {
        const [from = 0, to = 0] = range.split('-').map(Number);
        return isPort(from) && isPort(to) && from <= to;
      }, PORT_RANGE),
    ),
  ],
  PORT_RANGE,
);
const wholePositive = (what: string) =>
  v.pipe(
    v.number(`must be a number`),
    v.integer(`must be a whole number`),
    v.minValue(1, `${what} must be at least 1`),
  );

/**
 * The configuration file (`/etc/runner/config.yaml`). Strict: an unknown key
 * is a mistake (a typo would otherwise be silently ignored). Defaults live in
 * `DEFAULT_CONFIG`; command-line flags override the file.
 */
export const configFileSchema = v.strictObject(
  {
    manifestDir: v.optional(v.pipe(v.string('must be a path'), v.nonEmpty('must not be empty'))),
    stateDir: v.optional(v.pipe(v.string('must be a path'), v.nonEmpty('must not be empty'))),
    logLevel: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`)),
    logFormat: v.optional(v.picklist(LOG_FORMATS, `must be one of ${LOG_FORMATS.join(', ')}`)),
    resyncIntervalSeconds: v.optional(v.pipe(positive('resyncIntervalSeconds'), v.minValue(1, 'must be at least 1'))),
    parallelism: v.optional(wholePositive('parallelism')),
    stopTimeoutSeconds: v.optional(positive('stopTimeoutSeconds')),
    stopPodsOnExit: v.optional(v.boolean('must be true or false')),
    imagesDir: v.optional(v.pipe(v.string('must be a path'), v.nonEmpty('must not be empty'))),
    pull: v.optional(v.picklist(PULL_SETTINGS, `must be one of ${PULL_SETTINGS.join(', ')}`)),
    statusGroup: v.optional(v.string('must be a group name')),
    metrics: v.optional(
      v.strictObject(
        {
          textfile: v.optional(v.pipe(v.string('must be a path'), v.nonEmpty('must not be empty'))),
          listen: v.optional(
            v.pipe(
              v.string('must be host:port'),
              v.check(
                isLoopbackListen,
                'must be a loopback address such as 127.0.0.1:9464 (the runner opens no port to the network)',
              ),
            ),
          ),
        },
        () => 'unknown key; allowed: textfile, listen',
      ),
    ),
    restartBackoff: v.optional(
      v.strictObject(
        {
          initialSeconds: v.optional(positive('initialSeconds')),
          maxSeconds: v.optional(positive('maxSeconds')),
          resetAfterSeconds: v.optional(positive('resetAfterSeconds')),
        },
        () => 'unknown key; allowed: initialSeconds, maxSeconds, resetAfterSeconds',
      ),
    ),
    trust: v.optional(
      v.strictObject(
        {
          strict: v.optional(v.boolean('must be true or false')),
          allowedOwners: v.optional(
            v.array(
              v.pipe(
                v.number('must be a uid'),
                v.integer('must be a whole number'),
                v.minValue(0, 'must not be negative'),
              ),
              'must be a list of uids',
            ),
          ),
          followSymlinksOutside: v.optional(v.boolean('must be true or false')),
        },
        () => 'unknown key; allowed: strict, allowedOwners, followSymlinksOutside',
      ),
    ),
    policy: v.optional(
      v.strictObject(
        {
          level: v.optional(v.picklist(POLICY_LEVELS, `must be one of ${POLICY_LEVELS.join(', ')}`)),
          privileged: v.optional(toggle),
          hostNetwork: v.optional(toggle),
          hostPID: v.optional(toggle),
          hostIPC: v.optional(toggle),
          capabilities: v.optional(
            v.strictObject(
              {
                allowed: v.optional(
                  v.union(
                    [
                      v.literal('any'),
                      v.array(
                        v.pipe(v.string(), v.regex(/^[A-Za-z_]+$/, 'must be a capability name such as NET_ADMIN')),
                      ),
                    ],
                    'must be "any" or a list of capability names',
                  ),
                ),
              },
              () => 'unknown key; allowed: allowed',
            ),
          ),
          hostPath: v.optional(
            v.strictObject(
              {
                allow: v.optional(v.boolean('must be true or false')),
                pathPrefixes: v.optional(absolutePaths),
                readOnlyPathPrefixes: v.optional(absolutePaths),
              },
              () => 'unknown key; allowed: allow, pathPrefixes, readOnlyPathPrefixes',
            ),
          ),
          hostPorts: v.optional(
            v.strictObject(
              {
                allowed: v.optional(
                  v.union(
                    [v.literal('any'), v.array(portRange)],
                    'must be "any" or a list of ports and ranges such as 80 or 8000-8099',
                  ),
                ),
              },
              () => 'unknown key; allowed: allowed',
            ),
          ),
          seccompUnconfined: v.optional(toggle),
          appArmorUnconfined: v.optional(toggle),
          seLinuxOptions: v.optional(toggle),
          procMountUnmasked: v.optional(toggle),
          sysctls: v.optional(
            v.strictObject(
              {
                allowed: v.optional(
                  v.union(
                    [
                      v.literal('any'),
                      v.array(
                        v.pipe(
                          v.string(),
                          v.regex(
                            /^[a-z0-9_]+([./][a-z0-9_-]+)+$/,
                            'must be a sysctl name such as net.ipv4.tcp_syncookies',
                          ),
                        ),
                      ),
                    ],
                    'must be "any" or a list of sysctl names',
                  ),
                ),
              },
              () => 'unknown key; allowed: allowed',
            ),
          ),
        },
        () =>
          'unknown key; allowed: level, privileged, hostNetwork, hostPID, hostIPC, capabilities, hostPath, hostPorts, seccompUnconfined, appArmorUnconfined, seLinuxOptions, procMountUnmasked, sysctls',
      ),
    ),
    podman: v.optional(
      v.strictObject(
        {
          path: v.optional(v.pipe(v.string('must be a path'), v.nonEmpty('must not be empty'))),
          timeoutSeconds: v.optional(v.pipe(positive('timeoutSeconds'), v.minValue(1, 'must be at least 1'))),
          execOverheadSeconds: v.optional(
            v.pipe(positive('execOverheadSeconds'), v.maxValue(60, 'must be at most 60')),
          ),
        },
        () => 'unknown key; allowed: path, timeoutSeconds, execOverheadSeconds',
      ),
    ),
  },
  () =>
    'unknown key; allowed: manifestDir, stateDir, logLevel, logFormat, resyncIntervalSeconds, parallelism, stopTimeoutSeconds, stopPodsOnExit, statusGroup, metrics, restartBackoff, imagesDir, pull, trust, policy, podman',
);

export type ConfigFile = v.InferOutput<typeof configFileSchema>;

export { DEFAULT_CONFIG, DEFAULT_CONFIG_PATH, type RunnerConfig } from './defaults.ts';
