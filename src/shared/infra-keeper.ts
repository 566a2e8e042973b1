import { LABEL_PREFIX } from './ownership.ts';

/**
 * The infra keeper: a pause container (the pod's own infra image, with
 * nothing to do) in each pod whose containers the runner restarts (all but
 * restartPolicy Never). Once the image is known it is one of the played
 * pod's own containers (src/reconciler/keeper-in-yaml.ts), otherwise it is
 * made between the play and the pod's start (src/podman/play-kept.ts); on
 * podman 4.3, where no keeper is needed before the start, and for a pod
 * played without one (by an older runner), the supervisor makes it after the
 * play, and it starts it again when it has stopped. podman's kube play gives every pod the exit policy `stop` (4.3
 * through 5.x, hard-coded in play.go, with no annotation to change it): when
 * the last container other than the infra exits, podman stops the infra and
 * tears down the network namespace, and starting the container again must
 * bring both back, 1.2–2.0 s on podman 4.3.1 here against 0.25 s with the
 * infra still up. A running keeper is "another container" to podman, so the
 * pod stays up while its app container is dead. It is never the manifest's
 * and never counted: the reconciler and status see the pod without it.
 *
 * The name cannot be a manifest container's: `_` is not allowed in a
 * Kubernetes container name (the manifest schema holds every container to
 * it), so `<pod>-<container>` never ends like this.
 */
export const KEEPER_CONTAINER = 'runner_keeper';

/** How podman names the keeper of a pod: `<pod>-<container>`, as it names every container of a played pod. */
export const KEEPER_SUFFIX = `-${KEEPER_CONTAINER}`;

/** Set on the keeper, for people reading `podman ps`; the runner goes by the name. */
export const KEEPER_LABEL = `${LABEL_PREFIX}/infra-keeper`;

export const keeperName = (podName: string): string => `${podName}${KEEPER_SUFFIX}`;

export const isKeeper = (containerName: string): boolean => containerName.endsWith(KEEPER_SUFFIX);
