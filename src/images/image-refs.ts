/**
 * Comparing image references as written in manifests ("busybox",
 * "app:1") with the fully qualified ones podman records ("localhost/app:1",
 * "docker.io/library/busybox:latest"). Short names match any registry: that
 * is what podman's short-name resolution does with local images.
 */
export const normalizeRef = (ref: string): { registry: string | undefined; path: string; tagOrDigest: string } => {
  let rest = ref.trim();
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tagOrDigest = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    tagOrDigest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tagOrDigest = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, path: rest, tagOrDigest };
};

export const refsMatch = (wanted: string, provided: string): boolean => {
  const a = normalizeRef(wanted);
  const b = normalizeRef(provided);
  if (a.tagOrDigest !== b.tagOrDigest) return false;
  if (a.registry && b.registry) return a.registry === b.registry && a.path === b.path;
  const strip = (p: string): string => p.replace(/^library\//, '');
  return strip(a.path) === strip(b.path);
};
