/**
 * The commented default config the packages install must stay true to the
 * code: uncommented, it is a valid config, its values are the defaults, and
 * it documents every key the schema knows.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import { configFileSchema } from '../../src/config/config-schema.ts';
import { loadConfigFile, resolveConfig } from '../../src/config/load-config.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const SHIPPED = path.resolve(import.meta.dirname, '../../packaging/config.yaml');

/**
 * `#key: value` lines become YAML, and so do the `#  child: value` lines right
 * under one; prose comments (`# text`, `#   key: explanation`) stay comments.
 */
const uncomment = (text: string): string => {
  let inBlock = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^#\S/.test(line)) {
        inBlock = true;
        return line.slice(1);
      }
      if (inBlock && /^# {2}\S/.test(line)) return line.slice(1);
      inBlock = false;
      return line;
    })
    .join('\n');
};

describe('packaging/config.yaml', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await makeTempDir('shipped-config');
    file = path.join(dir, 'config.yaml');
    await writeFile(file, uncomment(await readFile(SHIPPED, 'utf8')));
  });
  after(() => removeTempDir(dir));

  it('is valid once uncommented, and its values are the defaults', async () => {
    const parsed = await loadConfigFile(file, true);
    const resolved = resolveConfig(parsed, {});
    const { logFormat: _shownAsExample, ...rest } = resolved;
    const { logFormat: _unset, ...defaults } = DEFAULT_CONFIG;
    assert.deepEqual(rest, defaults);
  });

  it('documents every key the config schema accepts', async () => {
    const parsed = (await loadConfigFile(file, true)) as Record<string, unknown>;
    for (const key of Object.keys(configFileSchema.entries))
      assert.ok(key in parsed, `packaging/config.yaml does not document "${key}"`);
  });

  it('is entirely commented out as shipped, so the defaults in code apply', async () => {
    assert.deepEqual(await loadConfigFile(SHIPPED, true), {});
  });
});
