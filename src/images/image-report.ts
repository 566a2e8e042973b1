import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestSnapshot } from '../manifest/read-manifest-dir.ts';
import type { Podman } from '../podman/podman.ts';
import { readArchiveRefs } from './archive-refs.ts';
import { isArchiveName } from './archive-files.ts';
import { refsMatch } from './image-refs.ts';
import type { LoadedArchive } from './image-state.ts';
import { missingImages } from './missing-images.ts';

/** One image the manifests reference. */
export interface ImageReportEntry {
  image: string;
  present: boolean;
  /** The archive that provided it (loaded) or provides it (not loaded yet); absent when none does. */
  archive?: string;
  archiveLoaded?: boolean;
  usedBy: { file: string; unit: string; container: string }[];
}

/** An archive in the images directory that is not loaded (or changed since it was). */
export interface PendingArchive {
  archive: string;
  size: number;
  /** The references it holds, read from its manifest.json / index.json; undefined when they cannot be read without loading. */
  refs?: string[];
  note?: string;
}

export interface ImageReport {
  images: ImageReportEntry[];
  pending: PendingArchive[];
}

type Spec = { containers?: { name?: string; image?: string }[]; initContainers?: { name?: string; image?: string }[] };

/** Every (image, user) pair of the snapshot's valid Pods and Deployments. */
export const imageUsers = (snapshot: ManifestSnapshot): Map<string, ImageReportEntry['usedBy']> => {
  const users = new Map<string, ImageReportEntry['usedBy']>();
  for (const manifest of snapshot.files) {
    for (const doc of manifest.documents) {
      const object = doc.object as { spec?: Spec & { template?: { spec?: Spec } } };
      const spec =
        doc.kind === 'Pod' ? object.spec : doc.kind === 'Deployment' ? object.spec?.template?.spec : undefined;
      for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        if (typeof container.image !== 'string') continue;
        const list = users.get(container.image) ?? [];
        list.push({ file: manifest.file, unit: `${doc.kind}/${doc.name}`, container: container.name ?? '' });
        users.set(container.image, list);
      }
    }
  }
  return users;
};

/**
 * Builds the `runner images` report: asks podman which images exist, takes
 * providers from images.json, and reads the references of archives not
 * loaded yet from their metadata (without loading them).
 */
export const buildImageReport = async (deps: {
  snapshot: ManifestSnapshot;
  podman: Podman;
  imagesDir: string;
  loaded: readonly LoadedArchive[];
}): Promise<ImageReport> => {
  const users = imageUsers(deps.snapshot);
  const images = [...users.keys()].sort();
  const missing = new Set(await missingImages(images, deps.podman));
  const pending = await pendingArchives(deps.imagesDir, deps.loaded);
  const entries = images.map((image): ImageReportEntry => {
    const loaded = deps.loaded.find((record) => record.refs.some((ref) => refsMatch(image, ref)));
    const waiting = pending.find((item) => item.refs?.some((ref) => refsMatch(image, ref)));
    const provider = loaded
      ? { archive: loaded.path, archiveLoaded: true }
      : waiting
        ? { archive: waiting.archive, archiveLoaded: false }
        : {};
    return { image, present: !missing.has(image), ...provider, usedBy: users.get(image)! };
  });
  return { images: entries, pending };
};

const pendingArchives = async (imagesDir: string, loaded: readonly LoadedArchive[]): Promise<PendingArchive[]> => {
  const names = await readdir(imagesDir).catch(() => [] as string[]);
  const pending: PendingArchive[] = [];
  for (const name of names.filter(isArchiveName).sort()) {
    const archive = path.join(imagesDir, name);
    const info = await stat(archive).catch(() => undefined);
    if (!info?.isFile()) continue;
    const record = loaded.find((item) => item.path === archive);
    if (record && record.size === info.size && record.mtimeMs === info.mtimeMs) continue;
    const refs = await readArchiveRefs(archive);
    pending.push({
      archive,
      size: info.size,
      ...(refs.ok ? { refs: refs.refs } : { note: refs.reason }),
      ...(record && refs.ok ? { note: 'changed since it was loaded' } : {}),
    });
  }
  return pending;
};
