import pkg from '../../package.json' with { type: 'json' };

// Filled in by the bundler (scripts/build) for release binaries; absent when
// running from source, where the commit is reported as "unknown".
declare const __RUNNER_COMMIT__: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof __RUNNER_COMMIT__ === 'string' ? __RUNNER_COMMIT__ : 'unknown';

export const versionText = (): string =>
  `runner ${VERSION} (commit ${COMMIT}, node ${process.versions.node}, ${process.platform}/${process.arch})`;
