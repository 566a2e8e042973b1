/**
 * Which imagePullPolicy podman is given for each container.
 *
 * podman 4.3–4.6 treat an unset imagePullPolicy as `newer` and contact the
 * registry on every play (containers/podman#19801), so the runner never
 * leaves it unset. The policy is worked out as Kubernetes would (`:latest`
 * or untagged → Always, else IfNotPresent; an explicit value wins), then
 * clamped by the runner's `pull` setting, which is a ceiling:
 *
 *   pull: never   → every container gets Never: podman never contacts a registry.
 *   pull: missing → Always becomes IfNotPresent; IfNotPresent and Never stay.
 *                   A present image never causes network traffic (default).
 *   pull: always  → the Kubernetes policy as is.
 */
export const PULL_SETTINGS = ['never', 'missing', 'always'] as const;
export type PullSetting = (typeof PULL_SETTINGS)[number];
export const DEFAULT_PULL: PullSetting = 'missing';

export const PULL_POLICIES = ['Never', 'IfNotPresent', 'Always'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

const CEILING: Record<PullSetting, PullPolicy> = { never: 'Never', missing: 'IfNotPresent', always: 'Always' };
const RANK: Record<PullPolicy, number> = { Never: 0, IfNotPresent: 1, Always: 2 };

/** The tag of an image reference, or undefined when it has none (a digest counts as pinned). */
export const imageTag = (image: string): string | undefined => {
  if (image.includes('@')) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon >= 0 ? lastSegment.slice(colon + 1) : undefined;
};

/** Kubernetes' default: Always for `:latest` or an untagged, undigested name; IfNotPresent otherwise. */
export const kubernetesDefaultPolicy = (image: string): PullPolicy => {
  if (image.includes('@')) return 'IfNotPresent';
  const tag = imageTag(image);
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
};

/** The policy written into the YAML podman gets for one container. */
export const effectivePullPolicy = (
  image: string,
  declared: PullPolicy | undefined,
  setting: PullSetting,
): PullPolicy => {
  const wanted = declared ?? kubernetesDefaultPolicy(image);
  const ceiling = CEILING[setting];
  return RANK[wanted] <= RANK[ceiling] ? wanted : ceiling;
};
