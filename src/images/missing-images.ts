import { parseAllDocuments } from 'yaml';
import type { CallOptions, Podman } from '../podman/podman.ts';
import type { LoadedArchive } from './image-state.ts';
import type { RefusedArchive } from './image-loader.ts';
import { refsMatch } from './image-refs.ts';
import type { PullSetting } from './pull-policy.ts';

/**
 * The images a rendered unit needs (containers and initContainers of its
 * Pod or Deployment), in order, without duplicates. Reads the unit's YAML so
 * it works for any unit the reconciler holds.
 */
export const imagesOfYaml = (yaml: string): string[] => {
  const images: string[] = [];
  for (const doc of parseAllDocuments(yaml)) {
    const object = (doc.toJS() ?? {}) as { kind?: string; spec?: { containers?: unknown; initContainers?: unknown; template?: { spec?: { containers?: unknown; initContainers?: unknown } } } };
    const spec = object.kind === 'Pod' ? object.spec : object.kind === 'Deployment' ? object.spec?.template?.spec : undefined;
    for (const list of [spec?.initContainers, spec?.containers]) {
      if (!Array.isArray(list)) continue;
      for (const container of list as { image?: unknown }[]) if (typeof container.image === 'string' && !images.includes(container.image)) images.push(container.image);
    }
  }
  return images;
};

/**
 * Which of `images` are not in podman's local storage (`podman image exists`,
 * which never contacts a registry). The reconciler calls it after a failed
 * play to tell ImageMissing from other failures.
 */
export const missingImages = async (images: readonly string[], podman: Podman, options?: CallOptions): Promise<string[]> => {
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
  if (provider) where = `archive ${provider.path} provided it (loaded ${provider.loadedAt}) but it has since been removed from podman's storage; touch the archive to load it again`;
  else if (context.waiting?.length) where = `no loaded archive provides it; ${context.waiting.length} archive(s) still being copied: ${context.waiting.join(', ')}`;
  else if (context.refused?.length) where = `no loaded archive provides it; refused archive(s): ${context.refused.map((item) => `${item.archive} (${item.code})`).join(', ')}`;
  else where = 'no archive provides it';
  const pull = context.pull === 'never' ? 'pull policy never: the runner does not let podman contact a registry' : `pull policy ${context.pull}: podman could not pull it either`;
  return `image ${image} is not in podman's storage; looked in ${context.imagesDir} (${where}); ${pull}`;
};
