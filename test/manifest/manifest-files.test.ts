import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ignoredReason, isManifestFileName } from '../../src/manifest/manifest-files.ts';

describe('manifest file names', () => {
  const cases: [string, boolean][] = [
    ['web.yaml', true],
    ['web.yml', true],
    ['web.json', true],
    ['WEB.YAML', true],
    ['.web.yaml', false],
    ['.web.yaml.swp', false],
    ['web.yaml~', false],
    ['web.yaml.bak', false],
    ['web.yaml.tmp', false],
    ['web.yaml.dpkg-new', false],
    ['web.yaml.dpkg-old', false],
    ['web.yaml.rpmnew', false],
    ['web.yaml.rpmsave', false],
    ['web.txt', false],
    ['web', false],
  ];
  for (const [name, expected] of cases) {
    it(`${name} is ${expected ? '' : 'not '}a manifest`, () => {
      assert.equal(isManifestFileName(name), expected);
      if (!expected) assert.ok(ignoredReason(name));
    });
  }
});
