import { execFileSync } from 'node:child_process';

/**
 * The short sha of HEAD, with `-dirty` when tracked files differ from it, so a
 * binary never claims a commit it was not built from. Falls back to
 * $RUNNER_COMMIT (builds from a tarball) and then to `unknown`.
 */
export const gitCommit = (cwd: string): string => {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
    return status.trim() === '' ? sha : `${sha}-dirty`;
  } catch {
    return process.env['RUNNER_COMMIT'] ?? 'unknown';
  }
};
