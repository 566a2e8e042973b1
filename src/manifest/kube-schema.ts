import * as v from 'valibot';
import { containerProbeChecks, probeSchema } from './probe-schema.ts';
import { LABEL_PREFIX } from '../shared/ownership.ts';

/**
 * The fields the runner relies on, checked with valibot. Objects are *loose*:
 * fields the runner does not know (and serialization leftovers such as
 * `creationTimestamp: null`, `resources: {}`, `status: {}`) are kept and passed
 * to podman untouched. Only what would break the runner or podman is refused.
 */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const dnsLabel = v.pipe(
  v.string('must be a string'),
  v.nonEmpty('must not be empty'),
  v.maxLength(63, 'must be at most 63 characters'),
  v.regex(
    DNS_LABEL,
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
  ),
);

const dnsSubdomain = v.pipe(
  v.string('must be a string'),
  v.nonEmpty('must not be empty'),
  v.maxLength(253, 'must be at most 253 characters'),
  v.regex(DNS_SUBDOMAIN, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."'),
);

const port = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be between 1 and 65535'),
  v.maxValue(65535, 'must be between 1 and 65535'),
);

const containerPort = v.looseObject({
  containerPort: port,
  hostPort: v.optional(port),
  hostIP: v.optional(v.string('must be a string')),
  protocol: v.optional(v.picklist(['TCP', 'UDP', 'SCTP'], 'must be TCP, UDP or SCTP')),
  name: v.optional(v.pipe(v.string('must be a string'), v.maxLength(15, 'must be at most 15 characters'))),
});

const stringList = v.array(v.string('must be a string'), 'must be a list of strings');

/**
 * The fields the policy judges must have the type podman decodes them as:
 * podman reads YAML 1.1, where `yes`, `on` and `y` are true, while the runner
 * reads `yes` as a string the policy would not see as true.
 */
const boolean = v.boolean('must be true or false (unquoted)');
const text = v.string('must be a string');
const profile = (kinds: string) =>
  v.looseObject({
    type: v.picklist(
      ['RuntimeDefault', 'Localhost', 'Unconfined'],
      `${kinds}: must be RuntimeDefault, Localhost or Unconfined`,
    ),
    localhostProfile: v.optional(text),
  });
const wholeNumber = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(0, 'must not be negative'),
);
const securityContext = v.looseObject({
  privileged: v.optional(boolean),
  allowPrivilegeEscalation: v.optional(boolean),
  readOnlyRootFilesystem: v.optional(boolean),
  runAsNonRoot: v.optional(boolean),
  runAsUser: v.optional(wholeNumber),
  runAsGroup: v.optional(wholeNumber),
  capabilities: v.optional(v.looseObject({ add: v.optional(stringList), drop: v.optional(stringList) })),
  seccompProfile: v.optional(profile('seccompProfile.type')),
  appArmorProfile: v.optional(profile('appArmorProfile.type')),
  seLinuxOptions: v.optional(
    v.looseObject({ user: v.optional(text), role: v.optional(text), type: v.optional(text), level: v.optional(text) }),
  ),
  procMount: v.optional(v.picklist(['Default', 'Unmasked'], 'must be Default or Unmasked')),
  sysctls: v.optional(
    v.array(
      v.looseObject({ name: v.pipe(text, v.nonEmpty('must not be empty')), value: text }),
      'must be a list of {name, value}',
    ),
  ),
  windowsOptions: v.optional(v.looseObject({ hostProcess: v.optional(boolean) })),
});
/** `items[].path` of a configMap or secret volume: a file inside the volume, as in Kubernetes. */
const itemsInsideVolume = v.optional(
  v.looseObject({
    items: v.optional(
      v.array(
        v.looseObject({
          key: v.string('must be a string'),
          path: v.pipe(
            v.string('must be a string'),
            v.nonEmpty('must not be empty'),
            v.check(
              (path) => !path.startsWith('/') && !path.split('/').includes('..'),
              'must be a relative path without ".." segments: podman writes the file there',
            ),
          ),
        }),
        'must be a list',
      ),
    ),
  }),
);
const volume = v.looseObject({
  name: v.string('must be a string'),
  hostPath: v.optional(
    v.looseObject({ path: v.string('must be a string'), type: v.optional(v.string('must be a string')) }),
  ),
  configMap: itemsInsideVolume,
  secret: itemsInsideVolume,
});

/** As in Kubernetes: a subPath stays inside its volume. */
const insideVolume = v.check(
  (subPath: string) => !subPath.startsWith('/') && !subPath.split('/').includes('..'),
  'must be a relative path without ".." segments',
);
const volumeMount = v.looseObject({
  name: v.string('must be a string'),
  // podman reads what follows a ":" as mount options (rshared, U, Z, suid, dev…) that no policy sees.
  mountPath: v.pipe(
    text,
    v.nonEmpty('must not be empty'),
    v.check((path) => !path.includes(':'), 'must not contain ":": podman would read what follows as mount options'),
  ),
  mountPropagation: v.optional(
    v.picklist(['None', 'HostToContainer', 'Bidirectional'], 'must be None, HostToContainer or Bidirectional'),
  ),
  readOnly: v.optional(boolean),
  subPath: v.optional(v.pipe(text, insideVolume)),
  subPathExpr: v.optional(v.pipe(text, insideVolume)),
});

const container = v.pipe(
  v.looseObject({
    name: dnsLabel,
    image: v.pipe(
      v.string('must be a string'),
      v.trim(),
      v.nonEmpty('must name an image'),
      v.check((image) => !image.startsWith('-'), 'must not start with "-"'),
    ),
    command: v.optional(stringList),
    args: v.optional(stringList),
    ports: v.optional(v.array(containerPort, 'must be a list')),
    imagePullPolicy: v.optional(
      v.picklist(['Always', 'IfNotPresent', 'Never'], 'must be Always, IfNotPresent or Never'),
    ),
    securityContext: v.optional(securityContext),
    volumeMounts: v.optional(v.array(volumeMount, 'must be a list of volume mounts')),
    // Run by the runner itself (src/probes/), never given to podman.
    livenessProbe: v.optional(probeSchema),
    readinessProbe: v.optional(probeSchema),
    startupProbe: v.optional(probeSchema),
  }),
  containerProbeChecks(),
);

const reservedLabels = v.check(
  (labels: Record<string, string>) => !Object.keys(labels).some((key) => key.startsWith(`${LABEL_PREFIX}/`)),
  `label keys starting with "${LABEL_PREFIX}/" are reserved for the runner`,
);

/** Init containers run to completion: as in Kubernetes, they take no probes. */
const initContainer = v.pipe(
  container,
  v.forward(
    v.check(
      (item) => (item as Record<string, unknown>).livenessProbe === undefined,
      'init containers run to completion and take no probes',
    ),
    ['livenessProbe'],
  ),
  v.forward(
    v.check(
      (item) => (item as Record<string, unknown>).readinessProbe === undefined,
      'init containers run to completion and take no probes',
    ),
    ['readinessProbe'],
  ),
  v.forward(
    v.check(
      (item) => (item as Record<string, unknown>).startupProbe === undefined,
      'init containers run to completion and take no probes',
    ),
    ['startupProbe'],
  ),
);

const labels = v.pipe(
  v.record(v.string(), v.string('label values must be strings'), 'must be a map of strings'),
  reservedLabels,
);

export const podSpecSchema = v.pipe(
  v.looseObject({
    containers: v.pipe(
      v.array(container, 'must be a list of containers'),
      v.minLength(1, 'must list at least one container'),
    ),
    initContainers: v.optional(v.array(initContainer, 'must be a list of containers')),
    restartPolicy: v.optional(v.picklist(['Always', 'OnFailure', 'Never'], 'must be Always, OnFailure or Never')),
    hostNetwork: v.optional(boolean),
    hostPID: v.optional(boolean),
    hostIPC: v.optional(boolean),
    hostUsers: v.optional(boolean),
    shareProcessNamespace: v.optional(boolean),
    securityContext: v.optional(securityContext),
    volumes: v.optional(v.array(volume, 'must be a list of volumes')),
    terminationGracePeriodSeconds: v.optional(
      v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must not be negative')),
    ),
  }),
  v.forward(
    v.check((spec) => {
      const names = [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name);
      return new Set(names).size === names.length;
    }, 'container names must be unique within a pod (containers and initContainers together)'),
    ['containers'],
  ),
  v.forward(
    v.check((spec) => {
      const names = (spec.volumes ?? []).map((volume) => volume.name);
      return new Set(names).size === names.length;
    }, 'volume names must be unique within a pod'),
    ['volumes'],
  ),
);

const objectMeta = v.looseObject({
  name: dnsLabel,
  labels: v.optional(labels),
});

export const podSchema = v.looseObject({
  apiVersion: v.literal('v1', 'must be "v1" for a Pod'),
  kind: v.literal('Pod'),
  metadata: objectMeta,
  spec: podSpecSchema,
});

export const deploymentSchema = v.looseObject({
  apiVersion: v.literal('apps/v1', 'must be "apps/v1" for a Deployment'),
  kind: v.literal('Deployment'),
  metadata: objectMeta,
  spec: v.looseObject({
    replicas: v.optional(
      v.pipe(
        v.number('must be a number'),
        v.integer('must be a whole number'),
        v.minValue(1, 'must be 1'),
        v.maxValue(1, 'must be 1: a static pod runs once per host'),
      ),
    ),
    template: v.looseObject({
      metadata: v.optional(v.looseObject({ labels: v.optional(labels) })),
      spec: podSpecSchema,
    }),
  }),
});

/** Kinds that travel with the pods of the same file: they configure, they do not run. */
const supportingMeta = v.looseObject({ name: dnsSubdomain });

/**
 * A ConfigMap or Secret key becomes a file name in its volume, so, as in
 * Kubernetes, it is a plain name: podman 4.3 joins it to the volume's path
 * and writes there as root, even for `--start=false`.
 */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const dataKey = v.pipe(
  v.string(),
  v.regex(DATA_KEY, 'keys must consist of letters, digits, "-", "_" and "." (they become file names)'),
  v.check((key) => key !== '.' && key !== '..' && !key.startsWith('..'), 'keys must not be "." or start with ".."'),
);
const dataMap = (what: string) => v.optional(v.record(dataKey, v.string(`${what} values must be strings`)));

export const configMapSchema = v.looseObject({
  apiVersion: v.literal('v1', 'must be "v1"'),
  kind: v.literal('ConfigMap'),
  metadata: supportingMeta,
  data: dataMap('ConfigMap'),
  binaryData: dataMap('binaryData'),
});

export const secretSchema = v.looseObject({
  apiVersion: v.literal('v1', 'must be "v1"'),
  kind: v.literal('Secret'),
  metadata: supportingMeta,
  data: dataMap('Secret'),
  stringData: dataMap('Secret'),
});

export const pvcSchema = v.looseObject({
  apiVersion: v.literal('v1', 'must be "v1"'),
  kind: v.literal('PersistentVolumeClaim'),
  metadata: supportingMeta,
});

export const WORKLOAD_KINDS = ['Pod', 'Deployment'] as const;
export const SUPPORTING_KINDS = ['ConfigMap', 'Secret', 'PersistentVolumeClaim'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type SupportingKind = (typeof SUPPORTING_KINDS)[number];
export type Kind = WorkloadKind | SupportingKind;

export const SCHEMAS = {
  Pod: podSchema,
  Deployment: deploymentSchema,
  ConfigMap: configMapSchema,
  Secret: secretSchema,
  PersistentVolumeClaim: pvcSchema,
} as const;

export type PodSpec = v.InferOutput<typeof podSpecSchema>;
