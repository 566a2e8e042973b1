import path from 'node:path';

/**
 * Which directory entries are manifests, as the kubelet's file source decides
 * it, minus its surprises: only `.yaml`, `.yml` and `.json` files directly in
 * the directory; dotfiles (editor swap files, `.#lock` files, atomic-save
 * temporaries) are ignored. Backups and package-manager leftovers
 * (`x.yaml~`, `x.yaml.bak`, `x.yaml.swp`, `x.yaml.tmp`, `x.yaml.dpkg-new`,
 * `x.yaml.rpmnew`, `x.yaml.rpmsave`) fail the extension test, so they are
 * never parsed; `ignoredReason` says why for `runner validate`.
 */
export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

const LEFTOVER_PATTERNS: readonly [RegExp, string][] = [
  [/~$/, 'editor backup'],
  [/\.(swp|swo|swx)$/, 'editor swap file'],
  [/\.(tmp|temp)$/, 'temporary file'],
  [/\.(bak|orig|old)$/, 'backup file'],
  [/\.dpkg-[a-z]+$/, 'dpkg leftover'],
  [/\.(rpmnew|rpmsave|rpmorig)$/, 'rpm leftover'],
];

/** Why a name is not a manifest, or undefined when it is one. */
export const ignoredReason = (fileName: string): string | undefined => {
  const base = path.basename(fileName);
  if (base.startsWith('.')) return 'hidden file';
  for (const [pattern, reason] of LEFTOVER_PATTERNS) if (pattern.test(base)) return reason;
  const ext = path.extname(base).toLowerCase();
  if (!(MANIFEST_EXTENSIONS as readonly string[]).includes(ext)) return 'not a .yaml, .yml or .json file';
  return undefined;
};

export const isManifestFileName = (fileName: string): boolean => ignoredReason(fileName) === undefined;
