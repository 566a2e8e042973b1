/**
 * The podman side of the policy oracle: play what the runner rendered,
 * without starting it, and read back what podman made of it. Every pod and
 * volume of a case carries the case's name prefix, so a case is found and
 * removed by name even when its play failed half-way (podman leaves such
 * pods behind).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { podman } from './harness.ts';
import type { ContainerInspect, Observed, OciSpec, PodInspect, VolumeInspect } from './oracle-facts.ts';

const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await podman(...args)) || 'null') as T;

const errorText = (error: unknown): string => {
  const { stderr, message } = error as { stderr?: string; message?: string };
  return (stderr || message || String(error)).trim().split('\n').slice(-3).join(' | ');
};

/**
 * `kube play --start=false` of each YAML (one per unit, as the runner plays
 * them): the containers are created, nothing runs. Returns podman's error
 * for each play that failed; a failed play is podman refusing, not a finding.
 */
export const playWithoutStarting = async (yamls: readonly string[], dir: string, tag: string): Promise<string[]> => {
  const errors: string[] = [];
  for (const [index, yaml] of yamls.entries()) {
    const file = path.join(dir, `${tag}-${index}.yaml`);
    await writeFile(file, yaml);
    await podman('kube', 'play', '--start=false', file).catch((error: unknown) => errors.push(errorText(error)));
  }
  return errors;
};

const podsNamed = async (prefix: string): Promise<{ Id: string; Name: string }[]> =>
  ((await json<{ Id: string; Name: string }[] | null>('pod', 'ps', '--format', 'json')) ?? []).filter((pod) =>
    pod.Name.startsWith(prefix),
  );

const volumesNamed = async (prefix: string): Promise<string[]> =>
  ((await json<{ Name: string }[] | null>('volume', 'ls', '--format', 'json')) ?? [])
    .map((volume) => volume.Name)
    .filter((name) => name.startsWith(prefix));

/** podman 4.x prints one object for one pod, 5.x an array. */
const inspectPod = async (id: string): Promise<PodInspect> => {
  const result = await json<PodInspect | PodInspect[]>('pod', 'inspect', id);
  return Array.isArray(result) ? result[0]! : result;
};

/** The OCI spec podman wrote for a container, once it has been initialised. */
const readSpec = async (ctr: ContainerInspect): Promise<OciSpec | undefined> => {
  if (!ctr.OCIConfigPath) return undefined;
  const text = await readFile(ctr.OCIConfigPath, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as OciSpec);
};

const inspectContainers = async (
  ids: readonly string[],
): Promise<{ containers: ContainerInspect[]; specs: Map<string, OciSpec> }> => {
  const containers = ids.length > 0 ? await json<ContainerInspect[]>('container', 'inspect', ...ids) : [];
  const specs = new Map<string, OciSpec>();
  for (const ctr of containers) {
    const spec = await readSpec(ctr);
    if (spec) specs.set(ctr.Id, spec);
  }
  return { containers, specs };
};

/** Everything podman holds for the pods named `prefix*`: pods, their containers, the volumes they mount, the OCI specs written so far. */
export const observePods = async (prefix: string, escapeDir: string): Promise<Observed> => {
  const pods = await Promise.all((await podsNamed(prefix)).map((pod) => inspectPod(pod.Id)));
  const { containers, specs } = await inspectContainers(
    pods.flatMap((pod) => (pod.Containers ?? []).map((ctr) => ctr.Id)),
  );
  const volumeNames = [
    ...new Set(
      containers.flatMap((ctr) => (ctr.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)),
    ),
  ];
  const volumes = volumeNames.length > 0 ? await json<VolumeInspect[]>('volume', 'inspect', ...volumeNames) : [];
  const escaped = (await readdir(escapeDir).catch(() => [] as string[])).map((name) => path.join(escapeDir, name));
  return { pods, containers, volumes, specs, escaped };
};

/** The same pods after `initContainers`: their containers again (the infra's PID, the OCI specs now written). */
export const refreshContainers = async (observed: Observed): Promise<Observed> => ({
  ...observed,
  ...(await inspectContainers(observed.containers.map((ctr) => ctr.Id))),
});

/**
 * `podman init` of every container not yet initialised: the OCI runtime
 * creates it (namespaces, mounts, the spec written to config.json) but does
 * not run its process. It starts the pod's infra container. Returns podman's
 * error when it refused.
 */
export const initContainers = async (observed: Observed): Promise<string | undefined> => {
  const ids = observed.containers.filter((ctr) => !ctr.IsInfra).map((ctr) => ctr.Id);
  if (ids.length === 0) return undefined;
  return podman('init', ...ids).then(
    () => undefined,
    (error: unknown) => errorText(error),
  );
};

/**
 * Removes what one case created: its pods, the volumes they mount and
 * `volumes` (the case's claims and ConfigMaps, which podman creates even for
 * a pod it then fails to create). `removeCase` sweeps up anything else.
 */
export const removeObserved = async (observed: Observed, volumes: readonly string[]): Promise<void> => {
  if (observed.pods.length > 0)
    await podman('pod', 'rm', '--force', '--time', '0', ...observed.pods.map((pod) => pod.Id)).catch(() => undefined);
  const names = [...new Set([...observed.volumes.map((volume) => volume.Name), ...volumes])];
  if (names.length > 0) await podman('volume', 'rm', '--force', ...names).catch(() => undefined);
};

/**
 * Removes every pod and volume whose name starts with `prefix`. The cases
 * give every volume name the prefix too: podman 4.3 names a ConfigMap's
 * volume after the ConfigMap and an emptyDir's after the pod's volume.
 */
export const removeCase = async (prefix: string): Promise<void> => {
  const pods = await podsNamed(prefix);
  if (pods.length > 0)
    await podman('pod', 'rm', '--force', '--time', '0', ...pods.map((pod) => pod.Id)).catch(() => undefined);
  const volumes = await volumesNamed(prefix);
  if (volumes.length > 0) await podman('volume', 'rm', '--force', ...volumes).catch(() => undefined);
};
