import type { CallOptions, Podman } from '../podman/podman.ts';
import type { LoadedArchive } from './image-state.ts';
import type { RefusedArchive } from './image-loader.ts';
import { refsMatch } from './image-refs.ts';
import type { PullSetting } from '../desired/pull-policy.ts';

/**
 * Which of `images` are not in podman's local storage (`podman image exists`,
 * which never contacts a registry). The reconciler calls it after a failed
 * play to tell ImageMissing from other failures, with the unit's `images`:
 * never by parsing the unit's YAML again, which for a large ConfigMap cost
 * seconds to minutes of blocked event loop on every retry (issue 12).
 */
export const missingImages = async (
  images: readonly string[],
  podman: Podman,
  options?: CallOptions,
): Promise<string[]> => {
  const unique = [...new Set(images)];
  const present = await Promise.all(unique.map((image) => podman.imageExists(image, options)));
  return unique.filter((_, index) => !present[index]);
};

export interface ImageMissingContext {
  imagesDir: string;
  pull: PullSetting;
  /** From ImageLoader.status(); optional (then only the directory is named). */
  loaded?: readonly LoadedArchive[];
  refused?: readonly RefusedArchive[];
  waiting?: readonly string[];
}

/**
 * The user-facing reason for ImageMissing, e.g. "image localhost/x:1 is not
 * in podman's storage; looked in /var/lib/runner/images (no archive provides
 * it); pull policy never".
 */
export const describeMissingImage = (image: string, context: ImageMissingContext): string => {
  const provider = context.loaded?.find((record) => record.refs.some((ref) => refsMatch(image, ref)));
  let where: string;
  if (provider)
    where = `archive ${provider.path} provided it (loaded ${provider.loadedAt}) but it has since been removed from podman's storage; touch the archive to load it again`;
  else if (context.waiting?.length)
    where = `no loaded archive provides it; ${context.waiting.length} archive(s) still being copied: ${context.waiting.join(', ')}`;
  else if (context.refused?.length)
    where = `no loaded archive provides it; refused archive(s): ${context.refused.map((item) => `${item.archive} (${item.code})`).join(', ')}`;
  else where = 'no archive provides it';
  const pull =
    context.pull === 'never'
      ? 'pull policy never: the runner does not let podman contact a registry'
      : `pull policy ${context.pull}: podman could not pull it either`;
  return `image ${image} is not in podman's storage; looked in ${context.imagesDir} (${where}); ${pull}`;
};
