/**
 * `npm run package`: Debian and RPM packages for amd64/x86_64 and
 * arm64/aarch64 from the binaries of `npm run build`, into dist/ (or --out).
 *
 *   --arch x64,arm64   architectures (default: both)
 *   --format deb,rpm   package formats (default: both)
 *   --out DIR          output directory (default: dist)
 *   --fast             light compression, for tests; the contents are the same
 *
 * See packaging/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { elfMachine, seaFuseState } from './build/elf.ts';
import { gitCommit } from './build/git-commit.ts';
import type { Arch } from './build/node-runtime.ts';
import {
  BINARY_FILE,
  DEB_ARCH,
  DEB_LIB_DEPENDS,
  debFileName,
  debianChangelog,
  PACKAGE_NAME,
  RPM_ARCH,
  renderTemplate,
  rpmChangelog,
  rpmFileName,
} from './package/naming.ts';
import { clampMtimes, DOC_DIR, gzip, installedSizeKiB, md5sums, put, stageCommon } from './package/stage.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const MAINTAINER = 'static-pod-runner maintainers <maintainers@users.noreply.r-seed-ed219491.example>';
const EXPECTED_MACHINE: Record<Arch, string> = { x64: 'x86-64', arm64: 'aarch64' };

interface Context {
  version: string;
  commit: string;
  epoch: number;
  out: string;
  fast: boolean;
}

const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): void => {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
};

/** The commit time, so two packagings of one commit agree byte for byte. */
const sourceDateEpoch = (): number => {
  const fromEnv = process.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined) return Number(fromEnv);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
};

const checkedBinary = (arch: Arch): string => {
  const binary = join(root, 'dist', BINARY_FILE[arch]);
  let bytes: Buffer;
  try {
    bytes = readFileSync(binary);
  } catch {
    throw new Error(`${binary} is missing: run \`npm run build\` first`);
  }
  if (elfMachine(bytes) !== EXPECTED_MACHINE[arch] || seaFuseState(bytes) !== 'injected') {
    throw new Error(`${binary} is not a ${EXPECTED_MACHINE[arch]} single executable: run \`npm run build\` again`);
  }
  return binary;
};

const buildDeb = (arch: Arch, ctx: Context, work: string): string => {
  const stage = join(work, `deb-${arch}`);
  stageCommon({
    root,
    stage,
    binary: checkedBinary(arch),
    version: ctx.version,
    unitDir: 'lib/systemd/system',
    zshCompletionDir: 'usr/share/zsh/vendor-completions',
  });
  const deb = (path: string): Buffer => readFileSync(join(root, 'deb', path));
  put(stage, `${DOC_DIR}/copyright`, deb('copyright'), 0o644);
  put(stage, `${DOC_DIR}/README.Debian`, deb('README.Debian'), 0o644);
  put(stage, `${DOC_DIR}/changelog.gz`, gzip(debianChangelog(ctx.version, MAINTAINER, ctx.epoch, ctx.commit)), 0o644);
  put(stage, `usr/share/lintian/overrides/${PACKAGE_NAME}`, deb('lintian-overrides'), 0o644);
  for (const script of ['postinst', 'prerm', 'postrm']) put(stage, `DEBIAN/${script}`, deb(script), 0o755);
  put(stage, 'DEBIAN/conffiles', deb('conffiles'), 0o644);
  const control = renderTemplate(deb('control.in').toString('utf8'), {
    VERSION: ctx.version,
    ARCH: DEB_ARCH[arch],
    INSTALLED_SIZE: String(installedSizeKiB(stage)),
    LIB_DEPENDS: DEB_LIB_DEPENDS,
  });
  put(stage, 'DEBIAN/control', control, 0o644);
  const conffiles = deb('conffiles')
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
  put(stage, 'DEBIAN/md5sums', md5sums(stage, conffiles), 0o644);
  clampMtimes(stage, ctx.epoch);

  const file = join(ctx.out, debFileName(ctx.version, arch));
  const compression = ctx.fast ? ['-Zgzip', '-z1'] : ['-Zxz', '-z6'];
  run('dpkg-deb', ['--root-owner-group', ...compression, '--build', stage, file], {
    SOURCE_DATE_EPOCH: String(ctx.epoch),
  });
  return file;
};

const buildRpm = (arch: Arch, ctx: Context, work: string): string => {
  const stage = join(work, `rpm-${arch}`);
  stageCommon({
    root,
    stage,
    binary: checkedBinary(arch),
    version: ctx.version,
    unitDir: 'usr/lib/systemd/system',
    zshCompletionDir: 'usr/share/zsh/site-functions',
  });
  put(stage, `usr/share/licenses/${PACKAGE_NAME}/LICENSE`, readFileSync(join(root, 'LICENSE')), 0o644);
  clampMtimes(stage, ctx.epoch);

  // The spec as written, plus a %changelog of this build (like the deb's).
  const spec = join(work, `${PACKAGE_NAME}-${arch}.spec`);
  const written = readFileSync(join(root, 'rpm', `${PACKAGE_NAME}.spec`), 'utf8');
  writeFileSync(spec, `${written}\n${rpmChangelog(MAINTAINER, ctx.epoch, ctx.commit)}`);

  const topdir = join(work, `rpmbuild-${arch}`);
  run(
    'rpmbuild',
    [
      '-bb',
      spec,
      '--target',
      RPM_ARCH[arch],
      '--define',
      `_topdir ${topdir}`,
      '--define',
      `_rpmdir ${ctx.out}`,
      '--define',
      `runner_version ${ctx.version}`,
      '--define',
      `runner_stage ${stage}`,
      '--define',
      `packager ${MAINTAINER}`,
      '--define',
      `_binary_payload ${ctx.fast ? 'w1.gzdio' : 'w6T0.xzdio'}`,
      '--quiet',
    ],
    { SOURCE_DATE_EPOCH: String(ctx.epoch) },
  );
  return join(ctx.out, rpmFileName(ctx.version, arch));
};

const main = (): void => {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'x64,arm64' },
      format: { type: 'string', default: 'deb,rpm' },
      out: { type: 'string', default: join(root, 'dist') },
      fast: { type: 'boolean', default: false },
    },
  });
  const arches = values.arch.split(',').map((arch) => {
    if (arch !== 'x64' && arch !== 'arm64') throw new Error(`--arch: unknown architecture ${arch} (x64, arm64)`);
    return arch;
  });
  const formats = values.format.split(',');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const ctx: Context = {
    version: pkg.version,
    commit: gitCommit(root),
    epoch: sourceDateEpoch(),
    out: resolve(values.out),
    fast: values.fast,
  };
  mkdirSync(ctx.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'runner-package-'));
  try {
    for (const arch of arches) {
      for (const format of formats) {
        if (format === 'deb') process.stdout.write(`${buildDeb(arch, ctx, work)}\n`);
        else if (format === 'rpm') process.stdout.write(`${buildRpm(arch, ctx, work)}\n`);
        else throw new Error(`--format: unknown format ${format} (deb, rpm)`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

main();
