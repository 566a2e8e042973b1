import { isMap, isSeq, parseDocument } from 'yaml';
import { PODMAN_YAML } from '../desired/build-units.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import { KEEPER_CONTAINER } from '../shared/infra-keeper.ts';

/**
 * The unit's YAML with the infra keeper (src/shared/infra-keeper.ts) as the
 * last container of its pod: one `kube play` then makes and starts the pod
 * and its keeper together, where the keeper-first play (play-kept.ts) takes
 * three podman calls. Measured on podman 4.3.1, a 1-container pod: a hand
 * `kube play` 0.52 s, with the keeper in the YAML 0.64 s (median of 8 each,
 * same script), against 0.82 s for the three calls (bench/RESULTS.md).
 *
 * It protects the pod from the start as the keeper-first play does: podman
 * creates every container of a pod before it starts any, and its exit policy
 * stops a pod only when every other container has exited (a created one has
 * not: libpod's stopIfOnlyInfraRemains), so an app that dies before the
 * keeper has started leaves the pod up.
 *
 * The keeper is what `podman run` made before: the infra's image, never
 * pulled, no capabilities, a read-only root. It runs no manifest's code, so
 * the policy, which judged the manifest, has nothing to judge in it. podman
 * names it `<pod>-runner_keeper` whatever the pod's name, a Deployment's too.
 *
 * Only the workload document (the last: build-units.ts renders the
 * supporting documents first) is parsed and written again, so a large
 * ConfigMap beside the pod costs nothing here. Undefined when that document
 * is not the unit's workload with a list of containers: the caller then
 * plays the keeper-first way.
 */
export const withKeeperContainer = (
  yaml: string,
  unit: Pick<DesiredUnit, 'kind' | 'name'>,
  image: string,
): string | undefined => {
  // The runner's renderer ends every document with a newline and joins them with `---`;
  // a `---` line inside a document would be indented (a block scalar) or escaped (a quoted one).
  const separator = yaml.lastIndexOf('\n---\n');
  const start = separator === -1 ? 0 : separator + '\n---\n'.length;
  const doc = parseDocument(yaml.slice(start), { ...PODMAN_YAML, uniqueKeys: false });
  if (doc.errors.length > 0) return undefined;
  const path = unit.kind === 'Pod' ? ['spec', 'containers'] : ['spec', 'template', 'spec', 'containers'];
  if (doc.get('kind') !== unit.kind || doc.getIn(['metadata', 'name']) !== unit.name) return undefined;
  const containers = doc.getIn(path, true);
  if (!isSeq(containers) || !containers.items.every(isMap)) return undefined;
  containers.add(
    doc.createNode({
      name: KEEPER_CONTAINER,
      image,
      imagePullPolicy: 'Never',
      securityContext: { capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
    }),
  );
  return yaml.slice(0, start) + doc.toString();
};
