import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config/config-schema.ts';
import { loadConfigFile, resolveConfig } from '../../src/config/load-config.ts';
import { isRunnerError, type RunnerError } from '../../src/shared/errors.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('config');
});
afterEach(async () => {
  await removeTempDir(dir);
});

const configFile = async (text: string): Promise<string> => {
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
};

/** The error loadConfigFile throws for `text`. */
const failure = async (text: string): Promise<RunnerError> => {
  const file = await configFile(text);
  try {
    await loadConfigFile(file, true);
  } catch (error) {
    assert.ok(isRunnerError(error), String(error));
    return error;
  }
  return assert.fail('expected the config to be refused');
};

describe('loadConfigFile', () => {
  it('reads a full valid file', async () => {
    const file = await configFile(
      'manifestDir: /srv/manifests\nstateDir: /srv/state\nlogLevel: debug\nlogFormat: json\nresyncIntervalSeconds: 5\nparallelism: 2\nstopTimeoutSeconds: 3\nstopPodsOnExit: true\npodman:\n  path: /usr/local/bin/podman\n  timeoutSeconds: 30\n  execOverheadSeconds: 0.5\n',
    );
    assert.deepEqual(await loadConfigFile(file, true), {
      manifestDir: '/srv/manifests',
      stateDir: '/srv/state',
      logLevel: 'debug',
      logFormat: 'json',
      resyncIntervalSeconds: 5,
      parallelism: 2,
      stopTimeoutSeconds: 3,
      stopPodsOnExit: true,
      podman: { path: '/usr/local/bin/podman', timeoutSeconds: 30, execOverheadSeconds: 0.5 },
    });
  });

  it('an empty file is an empty config', async () => {
    assert.deepEqual(await loadConfigFile(await configFile(''), true), {});
    assert.deepEqual(await loadConfigFile(await configFile('# only comments\n'), true), {});
  });

  it('a missing file at the default path is fine', async () => {
    assert.deepEqual(await loadConfigFile(path.join(dir, 'absent.yaml'), false), {});
  });

  it('a missing explicit file is an error naming it', async () => {
    const file = path.join(dir, 'absent.yaml');
    await assert.rejects(loadConfigFile(file, true), (error: unknown) => {
      assert.ok(isRunnerError(error));
      assert.equal(error.code, 'CONFIG_UNREADABLE');
      assert.ok(error.message.includes(file));
      return true;
    });
  });

  it('an unknown top-level key is reported with its key path and line', async () => {
    const error = await failure('logLevel: info\nmanifestDirs: /srv\n');
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /config\.yaml:2: manifestDirs: unknown key/);
  });

  it('an unknown nested key is reported with its key path', async () => {
    const error = await failure('podman:\n  path: podman\n  timeout: 5\n');
    assert.match(error.message, /config\.yaml:3: podman\.timeout: unknown key; allowed: path, timeoutSeconds/);
  });

  const wrong: [string, string, RegExp][] = [
    ['parallelism as a string', 'parallelism: "4"\n', /:1: parallelism: must be a number/],
    ['parallelism 0', 'parallelism: 0\n', /:1: parallelism: parallelism must be at least 1/],
    ['parallelism 1.5', 'parallelism: 1.5\n', /:1: parallelism: must be a whole number/],
    [
      'a negative stop timeout',
      'stopTimeoutSeconds: -1\n',
      /:1: stopTimeoutSeconds: stopTimeoutSeconds must not be negative/,
    ],
    ['a bad log level', 'logLevel: loud\n', /:1: logLevel: must be one of silent, error, warn, info, debug, trace/],
    ['stopPodsOnExit as a string', 'stopPodsOnExit: "yes"\n', /:1: stopPodsOnExit: must be true or false/],
    ['an empty manifestDir', 'manifestDir: ""\n', /:1: manifestDir: must not be empty/],
    ['resync 0', 'resyncIntervalSeconds: 0\n', /:1: resyncIntervalSeconds: must be at least 1/],
  ];
  for (const [what, text, message] of wrong) {
    it(`refuses ${what}`, async () => {
      const error = await failure(text);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.match(error.message, message);
    });
  }

  it('reports every mistake at once', async () => {
    const error = await failure('parallelism: x\nlogLevel: loud\nbogus: 1\n');
    assert.match(error.message, /:1: parallelism/);
    assert.match(error.message, /:2: logLevel/);
    assert.match(error.message, /:3: bogus/);
  });

  it('a top-level list is refused', async () => {
    const error = await failure('- a\n- b\n');
    assert.equal(error.code, 'CONFIG_INVALID');
  });

  it('a YAML syntax error names the line', async () => {
    const error = await failure('logLevel: info\npodman:\n  path: [podman\n');
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /config\.yaml:4: /);
  });

  it('a duplicate key is a syntax error with its line', async () => {
    const error = await failure('logLevel: info\nlogLevel: debug\n');
    assert.match(error.message, /config\.yaml:2: Map keys must be unique/);
  });
});

describe('resolveConfig', () => {
  it('defaults when there is no file and no flags', () => {
    assert.deepEqual(resolveConfig({}, {}), DEFAULT_CONFIG);
  });

  it('defaults < file < flags', () => {
    const config = resolveConfig(
      {
        manifestDir: '/file/manifests',
        stateDir: '/file/state',
        logLevel: 'warn',
        parallelism: 2,
        podman: { timeoutSeconds: 30 },
      },
      { manifestDir: '/flag/manifests', logLevel: 'debug' },
    );
    assert.equal(config.manifestDir, '/flag/manifests');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.stateDir, '/file/state');
    assert.equal(config.parallelism, 2);
    assert.equal(config.resyncIntervalSeconds, DEFAULT_CONFIG.resyncIntervalSeconds);
    assert.deepEqual(config.podman, {
      path: DEFAULT_CONFIG.podman.path,
      timeoutSeconds: 30,
      execOverheadSeconds: DEFAULT_CONFIG.podman.execOverheadSeconds,
    });
  });

  it('an undefined flag does not override the file', () => {
    const config = resolveConfig({ stateDir: '/file/state' }, { stateDir: undefined, logFormat: undefined });
    assert.equal(config.stateDir, '/file/state');
    assert.equal(config.logFormat, undefined);
  });

  it('does not modify DEFAULT_CONFIG', () => {
    const before = structuredClone(DEFAULT_CONFIG);
    const config = resolveConfig({ podman: { path: '/x' } }, {});
    config.podman.timeoutSeconds = 1;
    assert.deepEqual(DEFAULT_CONFIG, before);
  });
});
