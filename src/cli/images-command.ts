import { buildImageReport, type ImageReport } from '../images/image-report.ts';
import { readImageState } from '../images/image-state.ts';
import { formatBytes } from '../images/free-space.ts';
import { readManifestDir } from '../manifest/read-manifest-dir.ts';
import { CliPodman } from '../podman/cli-podman.ts';
import { printable, printableData, printableJson } from '../shared/printable.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { IMAGES, IMAGES_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';

/** `runner images`: what the manifests need, what podman has, where it came from. Changes nothing. */
export const imagesCommand = (argv: string[], write: Write): Promise<number> => invokeCommand(IMAGES, argv, write);

/** The handler of IMAGES (src/cli/commands.ts). */
export const listImages = async ({ values }: ParsedArgs<typeof IMAGES_FLAGS>, write: Write): Promise<number> => {
  const config = await loadCliConfig(values);
  const imagesDir = config.imagesDir;
  const snapshot = await readManifestDir(config.manifestDir);
  const podman = new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000 });
  const report = await buildImageReport({ snapshot, podman, imagesDir, loaded: await readImageState(config.stateDir) });
  write(
    values.json
      ? `${printableJson(JSON.stringify({ imagesDir, pull: config.pull, ...report }, null, 2))}\n`
      : formatReport(printableData(report), printable(imagesDir)),
  );
  const missing = report.images.filter((entry) => !entry.present).length;
  return values.missing && missing > 0 ? 1 : 0;
};

/** `report` and `imagesDir` come escaped (image names are manifest values). */
const formatReport = (report: ImageReport, imagesDir: string): string => {
  const lines: string[] = [];
  if (report.images.length === 0) lines.push('no manifest references an image');
  for (const entry of report.images) {
    const state = entry.present ? 'present' : 'MISSING';
    const from = entry.archive
      ? entry.archiveLoaded
        ? `from ${entry.archive}`
        : `in ${entry.archive} (not loaded yet)`
      : entry.present
        ? ''
        : `no archive in ${imagesDir} provides it`;
    lines.push(`${state.padEnd(8)} ${entry.image}${from ? `  ${from}` : ''}`);
    for (const user of entry.usedBy)
      lines.push(`           used by ${user.unit} (container ${user.container}) in ${user.file}`);
  }
  if (report.pending.length > 0) {
    lines.push('', `archives in ${imagesDir} not loaded yet:`);
    for (const item of report.pending) {
      lines.push(
        `  ${item.archive} (${formatBytes(item.size)}): ${item.refs ? item.refs.join(', ') || '(no image names)' : 'image names unknown'}${item.note ? `; ${item.note}` : ''}`,
      );
    }
  }
  const missing = report.images.filter((entry) => !entry.present).length;
  lines.push('', `${report.images.length} image(s) referenced, ${missing} missing`);
  return `${lines.join('\n')}\n`;
};
