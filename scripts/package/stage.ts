/**
 * Lays out the installed file tree of a package in a staging directory, from
 * packaging/ (shared), deb/ and rpm/. Modes are set explicitly and every mtime
 * is clamped to SOURCE_DATE_EPOCH, so the packages are reproducible.
 */
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { COMMANDS } from '../../src/cli/commands.ts';
import { renderBashCompletion } from '../../src/cli/completion-bash.ts';
import { renderZshCompletion } from '../../src/cli/completion-zsh.ts';
import { PACKAGE_NAME, renderTemplate } from './naming.ts';

export interface StageOptions {
  root: string;
  stage: string;
  binary: string;
  version: string;
  /** Where the unit goes: Debian 12 keeps units in /lib, rpm distributions in /usr/lib. */
  unitDir: 'lib/systemd/system' | 'usr/lib/systemd/system';
  /** Where zsh completions go: Debian's zsh reads vendor-completions, Fedora's and RHEL's site-functions. */
  zshCompletionDir: 'usr/share/zsh/vendor-completions' | 'usr/share/zsh/site-functions';
}

const DOC_DIR = `usr/share/doc/${PACKAGE_NAME}`;

const put = (stage: string, dest: string, content: Buffer | string, mode: number): void => {
  const path = join(stage, dest);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, content);
  chmodSync(path, mode);
};

const dir = (stage: string, dest: string): void => {
  mkdirSync(join(stage, dest), { recursive: true });
  chmodSync(join(stage, dest), 0o755);
};

/** gzip -9n equivalent: zlib writes no name and a zero timestamp. */
const gzip = (content: Buffer | string): Buffer => gzipSync(content, { level: 9 });

/** Files common to the deb and the rpm. */
export const stageCommon = (options: StageOptions): void => {
  const { root, stage } = options;
  const read = (path: string): Buffer => readFileSync(join(root, path));
  mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  copyFileSync(options.binary, join(stage, 'usr/bin/runner'));
  chmodSync(join(stage, 'usr/bin/runner'), 0o755);
  put(stage, `${options.unitDir}/runner.service`, read('packaging/runner.service'), 0o644);
  put(stage, 'etc/runner/config.yaml', read('packaging/config.yaml'), 0o644);
  dir(stage, 'etc/runner/manifests');
  dir(stage, 'var/lib/runner/images');
  const manPage = renderTemplate(read('packaging/runner.1').toString('utf8'), { VERSION: options.version });
  put(stage, 'usr/share/man/man1/runner.1.gz', gzip(manPage), 0o644);
  put(stage, `${DOC_DIR}/THIRD-PARTY-LICENSES.gz`, gzip(read('dist/THIRD-PARTY-LICENSES')), 0o644);
  // The scripts `runner completion bash|zsh` prints, from the same command table.
  put(stage, 'usr/share/bash-completion/completions/runner', renderBashCompletion(COMMANDS), 0o644);
  put(stage, `${options.zshCompletionDir}/_runner`, renderZshCompletion(COMMANDS), 0o644);
};

/** Sets the mtime of everything under `path` to `epochSeconds` (no symlinks are staged). */
export const clampMtimes = (path: string, epochSeconds: number): void => {
  if (lstatSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) clampMtimes(join(path, entry), epochSeconds);
  }
  utimesSync(path, epochSeconds, epochSeconds);
};

/** dpkg's Installed-Size: KiB of the files, rounded up each, plus one per directory. */
export const installedSizeKiB = (path: string): number => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return Math.ceil(stat.size / 1024);
  return readdirSync(path)
    .filter((entry) => entry !== 'DEBIAN')
    .reduce((sum, entry) => sum + installedSizeKiB(join(path, entry)), 1);
};

/**
 * The DEBIAN/md5sums file: every regular file outside DEBIAN/ except the
 * conffiles (dpkg records their hashes itself), sorted by path.
 */
export const md5sums = (stage: string, conffiles: string[]): string => {
  const lines: string[] = [];
  const walk = (path: string): void => {
    if (lstatSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) if (path !== stage || entry !== 'DEBIAN') walk(join(path, entry));
      return;
    }
    if (conffiles.includes(`/${relative(stage, path)}`)) return;
    lines.push(`${createHash('md5').update(readFileSync(path)).digest('hex')}  ${relative(stage, path)}`);
  };
  walk(stage);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
};

export { DOC_DIR, gzip, put };
