import * as v from 'valibot';
import { formatFieldPath } from './manifest-problem.ts';
import { RunnerError } from '../shared/errors.ts';

/**
 * A Kubernetes Probe (core/v1), as the runner runs it. Objects are loose like
 * the rest of the manifest schema: unknown fields are kept, not refused.
 *
 * Checked here: one handler (exec, httpGet or tcpSocket; grpc is refused),
 * whole-number timings with Kubernetes' minimums. Checked by the container
 * schema (`containerProbeChecks`), because they need the container: that
 * liveness and startup probes have successThreshold 1, and that a named port
 * is one of the container's `ports[].name`.
 */
const wholeNumber = (min: number) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, min === 0 ? 'must not be negative' : `must be at least ${min}`),
  );

const portNumber = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number'),
  v.minValue(1, 'must be between 1 and 65535'),
  v.maxValue(65535, 'must be between 1 and 65535'),
);

/** An IANA service name, as Kubernetes requires of port names. */
const portName = v.pipe(
  v.string('must be a port number or a port name'),
  v.nonEmpty('must not be empty'),
  v.maxLength(15, 'a port name must be at most 15 characters'),
  v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a port name must be lower-case letters, digits and "-"'),
  v.regex(/[a-z]/, 'a port name must contain a letter'),
);

const probePort = v.union([portNumber, portName], 'must be a port number (1-65535) or the name of a container port');

const host = v.optional(v.string('must be a string'));

const execAction = v.looseObject({
  command: v.pipe(
    v.array(v.string('must be a string'), 'must be a list of strings'),
    v.minLength(1, 'must not be empty: name the command to run'),
  ),
});

const httpHeader = v.looseObject({
  name: v.pipe(v.string('must be a string'), v.nonEmpty('must not be empty')),
  value: v.string('must be a string'),
});

const httpGetAction = v.looseObject({
  path: v.optional(v.string('must be a string'), '/'),
  port: probePort,
  host,
  scheme: v.optional(v.picklist(['HTTP', 'HTTPS'], 'must be HTTP or HTTPS'), 'HTTP'),
  httpHeaders: v.optional(v.array(httpHeader, 'must be a list of {name, value}'), () => []),
});

const tcpSocketAction = v.looseObject({
  port: probePort,
  host,
});

const HANDLERS = ['exec', 'httpGet', 'tcpSocket'] as const;

export const probeSchema = v.pipe(
  v.looseObject({
    exec: v.optional(execAction),
    httpGet: v.optional(httpGetAction),
    tcpSocket: v.optional(tcpSocketAction),
    grpc: v.optional(v.never('grpc probes are not supported by the runner; use exec, httpGet or tcpSocket')),
    initialDelaySeconds: v.optional(wholeNumber(0), 0),
    periodSeconds: v.optional(wholeNumber(1), 10),
    timeoutSeconds: v.optional(wholeNumber(1), 1),
    successThreshold: v.optional(wholeNumber(1), 1),
    failureThreshold: v.optional(wholeNumber(1), 3),
    terminationGracePeriodSeconds: v.optional(wholeNumber(1)),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const set = HANDLERS.filter((handler) => dataset.value[handler] !== undefined);
    if (set.length === 0) addIssue({ message: 'must set one handler: exec, httpGet or tcpSocket' });
    if (set.length > 1) addIssue({ message: `must set only one handler, found ${set.join(' and ')}` });
  }),
);

export type ProbeOutput = v.InferOutput<typeof probeSchema>;

export const PROBE_KINDS = ['liveness', 'readiness', 'startup'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];
export const PROBE_FIELDS = {
  liveness: 'livenessProbe',
  readiness: 'readinessProbe',
  startup: 'startupProbe',
} as const;

export interface ContainerPortRef {
  name?: string | undefined;
  containerPort: number;
}

/** The part of a validated container that the probe checks look at. */
interface ProbedContainer {
  ports?: readonly ContainerPortRef[] | undefined;
  livenessProbe?: ProbeOutput | undefined;
  readinessProbe?: ProbeOutput | undefined;
  startupProbe?: ProbeOutput | undefined;
}

/** A valibot issue path through plain objects (as `v.forward` builds it), for checks whose path is computed. */
const pathTo = (root: unknown, keys: readonly string[]): [v.IssuePathItem, ...v.IssuePathItem[]] => {
  let input = root as Record<string, unknown>;
  const items = keys.map((key) => {
    const value = input[key];
    const item = { type: 'unknown', origin: 'value', input, key, value } as const;
    input = value as Record<string, unknown>;
    return item;
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
};

/**
 * Container-level probe rules, for `v.pipe(containerObject, containerProbeChecks())`:
 * Kubernetes requires successThreshold 1 for liveness and startup probes, and
 * a named probe port must be one of the container's named ports.
 */
export const containerProbeChecks = <T extends ProbedContainer>() =>
  v.rawCheck<T>(({ dataset, addIssue }) => {
    if (dataset.typed) checkContainerProbes(dataset.value, addIssue);
  });

const checkContainerProbes = (
  container: ProbedContainer,
  addIssue: (info: { message: string; input: unknown; path: [v.IssuePathItem, ...v.IssuePathItem[]] }) => void,
): void => {
  for (const kind of PROBE_KINDS) {
    const field = PROBE_FIELDS[kind];
    const probe = container[field];
    if (!probe) continue;
    if (kind !== 'readiness' && probe.successThreshold !== 1) {
      addIssue({
        message: `must be 1 for a ${kind} probe (Kubernetes requires it); only readiness probes may need several successes`,
        input: probe.successThreshold,
        path: pathTo(container, [field, 'successThreshold']),
      });
    }
    for (const handler of ['httpGet', 'tcpSocket'] as const) {
      const port = probe[handler]?.port;
      // An ill-formed name already has its own issue.
      if (typeof port !== 'string' || !v.is(portName, port) || findPort(container.ports, port) !== undefined) continue;
      addIssue({
        message: `names port "${port}", but the container has no port with that name${namedPorts(container.ports)}`,
        input: port,
        path: pathTo(container, [field, handler, 'port']),
      });
    }
  }
};

const findPort = (ports: readonly ContainerPortRef[] | undefined, name: string): number | undefined =>
  ports?.find((port) => port.name === name)?.containerPort;

const namedPorts = (ports: readonly ContainerPortRef[] | undefined): string => {
  const names = (ports ?? []).flatMap((port) => (port.name ? [`"${port.name}"`] : []));
  return names.length > 0 ? ` (named ports: ${names.join(', ')})` : ' (it names no ports)';
};

/** What a probe does, with defaults filled in and named ports resolved to numbers. */
export type ProbeHandler =
  | { type: 'exec'; command: string[] }
  | {
      type: 'httpGet';
      path: string;
      port: number;
      host: string | undefined;
      scheme: 'HTTP' | 'HTTPS';
      headers: { name: string; value: string }[];
    }
  | { type: 'tcpSocket'; port: number; host: string | undefined };

export interface ProbeSpec {
  handler: ProbeHandler;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  terminationGracePeriodSeconds: number | undefined;
}

/**
 * A raw probe spec (as written in the manifest) with Kubernetes' defaults
 * filled in and named ports resolved against the container's `ports`.
 * Throws a MANIFEST_INVALID RunnerError naming the field when the spec is
 * invalid; specs that passed the manifest schema never are.
 */
export const normalizeProbe = (raw: unknown, ports: readonly ContainerPortRef[] = []): ProbeSpec => {
  const result = v.safeParse(probeSchema, raw);
  if (!result.success) {
    const text = result.issues
      .map((issue) => {
        const field = formatFieldPath((issue.path ?? []).map((item) => item.key as string | number));
        return field ? `${field}: ${issue.message}` : issue.message;
      })
      .join('; ');
    throw new RunnerError('MANIFEST_INVALID', `invalid probe: ${text}`);
  }
  const probe = result.output;
  const resolve = (port: number | string): number => {
    if (typeof port === 'number') return port;
    const found = findPort(ports, port);
    if (found === undefined)
      throw new RunnerError(
        'MANIFEST_INVALID',
        `invalid probe: port "${port}" is not a named port of the container${namedPorts(ports)}`,
      );
    return found;
  };
  return {
    handler: handlerOf(probe, resolve),
    initialDelaySeconds: probe.initialDelaySeconds,
    periodSeconds: probe.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds,
    successThreshold: probe.successThreshold,
    failureThreshold: probe.failureThreshold,
    terminationGracePeriodSeconds: probe.terminationGracePeriodSeconds,
  };
};

const handlerOf = (probe: ProbeOutput, resolve: (port: number | string) => number): ProbeHandler => {
  if (probe.exec) return { type: 'exec', command: [...probe.exec.command] };
  if (probe.httpGet) {
    const { path, port, host, scheme, httpHeaders } = probe.httpGet;
    const headers = httpHeaders.map((header) => ({ name: header.name, value: header.value }));
    return { type: 'httpGet', path, port: resolve(port), host: host || undefined, scheme, headers };
  }
  const tcp = probe.tcpSocket!;
  return { type: 'tcpSocket', port: resolve(tcp.port), host: tcp.host || undefined };
};
