import path from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../config/config-schema.ts';
import { loadConfigFile, resolveConfig } from '../config/load-config.ts';
import { buildImageReport, type ImageReport } from '../images/image-report.ts';
import { readImageState } from '../images/image-state.ts';
import { formatBytes } from '../images/free-space.ts';
import { readManifestDir } from '../manifest/read-manifest-dir.ts';
import { CliPodman } from '../podman/cli-podman.ts';
import { printable, printableData, printableJson } from '../shared/printable.ts';
import { IMAGES_HELP } from './help.ts';
import { parseFlags } from './parse-flags.ts';

/** `runner images`: what the manifests need, what podman has, where it came from. Changes nothing. */
export const imagesCommand = async (argv: string[], write: (text: string) => void): Promise<number> => {
  const { values } = parseFlags(
    argv,
    {
      config: { type: 'string' },
      'manifest-dir': { type: 'string' },
      'images-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      missing: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    write(IMAGES_HELP);
    return 0;
  }
  const file = await loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined);
  const config = resolveConfig(file, {
    manifestDir: values['manifest-dir'] && path.resolve(values['manifest-dir']),
    imagesDir: values['images-dir'] && path.resolve(values['images-dir']),
    stateDir: values['state-dir'] && path.resolve(values['state-dir']),
  });
  const imagesDir = path.resolve(config.imagesDir);
  const snapshot = await readManifestDir(path.resolve(config.manifestDir));
  const podman = new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000 });
  const report = await buildImageReport({ snapshot, podman, imagesDir, loaded: await readImageState(path.resolve(config.stateDir)) });
  write(values.json ? `${printableJson(JSON.stringify({ imagesDir, pull: config.pull, ...report }, null, 2))}\n` : formatReport(printableData(report), printable(imagesDir)));
  const missing = report.images.filter((entry) => !entry.present).length;
  return values.missing && missing > 0 ? 1 : 0;
};

/** `report` and `imagesDir` come escaped (image names are manifest values). */
const formatReport = (report: ImageReport, imagesDir: string): string => {
  const lines: string[] = [];
  if (report.images.length === 0) lines.push('no manifest references an image');
  for (const entry of report.images) {
    const state = entry.present ? 'present' : 'MISSING';
    const from = entry.archive ? (entry.archiveLoaded ? `from ${entry.archive}` : `in ${entry.archive} (not loaded yet)`) : entry.present ? '' : `no archive in ${imagesDir} provides it`;
    lines.push(`${state.padEnd(8)} ${entry.image}${from ? `  ${from}` : ''}`);
    for (const user of entry.usedBy) lines.push(`           used by ${user.unit} (container ${user.container}) in ${user.file}`);
  }
  if (report.pending.length > 0) {
    lines.push('', `archives in ${imagesDir} not loaded yet:`);
    for (const item of report.pending) {
      lines.push(`  ${item.archive} (${formatBytes(item.size)}): ${item.refs ? item.refs.join(', ') || '(no image names)' : 'image names unknown'}${item.note ? `; ${item.note}` : ''}`);
    }
  }
  const missing = report.images.filter((entry) => !entry.present).length;
  lines.push('', `${report.images.length} image(s) referenced, ${missing} missing`);
  return `${lines.join('\n')}\n`;
};
