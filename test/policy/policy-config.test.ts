import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import { loadConfigFile, resolveConfig } from '../../src/config/load-config.ts';
import { DEFAULT_TRUST } from '../../src/manifest/trust.ts';
import { DEFAULT_POLICY, PERMISSIVE_POLICY, RESTRICTED_POLICY } from '../../src/policy/policy.ts';
import { securityWarnings } from '../../src/config/security-warnings.ts';
import { isRunnerError } from '../../src/shared/errors.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

let dir: string;
before(async () => {
  dir = await makeTempDir('policy-config');
});
after(() => removeTempDir(dir));

const load = async (text: string) => {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return resolveConfig(await loadConfigFile(file, true), {});
};

describe('config: trust and policy', () => {
  it('default to strict trust and the default policy', () => {
    assert.deepEqual(DEFAULT_CONFIG.trust, DEFAULT_TRUST);
    assert.deepEqual(DEFAULT_CONFIG.policy, DEFAULT_POLICY);
    assert.deepEqual(resolveConfig({}, {}).policy, DEFAULT_POLICY);
  });

  it('merge key by key; a list replaces the default list', async () => {
    const config = await load(
      'trust:\n  strict: false\npolicy:\n  privileged: allow\n  hostPath:\n    pathPrefixes: [/srv/data]\n  capabilities: { allowed: any }\n',
    );
    assert.deepEqual(config.trust, { ...DEFAULT_TRUST, strict: false });
    assert.deepEqual(config.policy, {
      ...DEFAULT_POLICY,
      privileged: 'allow',
      capabilities: { allowed: 'any' },
      hostPath: { ...DEFAULT_POLICY.hostPath, pathPrefixes: ['/srv/data'] },
    });
  });

  it('start from policy.level, then apply the keys beside it', async () => {
    assert.deepEqual((await load('policy:\n  level: privileged\n')).policy, PERMISSIVE_POLICY);
    assert.deepEqual((await load('policy:\n  level: restricted\n  hostNetwork: allow\n')).policy, {
      ...RESTRICTED_POLICY,
      hostNetwork: 'allow',
    });
    assert.equal(RESTRICTED_POLICY.hostPath.allow, false);
    assert.deepEqual(RESTRICTED_POLICY.capabilities.allowed, ['NET_BIND_SERVICE']);
  });

  it('refuse wrong values and unknown keys with the key path and line', async () => {
    const table: [string, RegExp][] = [
      ['policy:\n  privileged: yes\n', /:2: policy\.privileged: must be allow or deny/],
      [
        'policy:\n  hostPath:\n    pathPrefixes: [etc/haproxy]\n',
        /:3: policy\.hostPath\.pathPrefixes\[0\]: must be an absolute path/,
      ],
      [
        'policy:\n  capabilities:\n    allowed: some\n',
        /policy\.capabilities\.allowed: must be "any" or a list of capability names/,
      ],
      ['policy:\n  hostNetwrok: allow\n', /unknown key; allowed: level, privileged, hostNetwork/],
      ['policy:\n  level: strict\n', /:2: policy\.level: must be one of privileged, baseline, restricted/],
      [
        'policy:\n  hostPorts: { allowed: [80, "90-80"] }\n',
        /policy\.hostPorts\.allowed\[1\]: must be a port \(1-65535\) or a range such as 8000-8099/,
      ],
      ['policy:\n  sysctls: { allowed: ["rm -rf"] }\n', /policy\.sysctls\.allowed\[0\]: must be a sysctl name/],
      ['trust:\n  allowedOwners: [-1]\n', /trust\.allowedOwners\[0\]: must not be negative/],
      ['trust:\n  strict: 0\n', /trust\.strict: must be true or false/],
    ];
    for (const [text, expected] of table) {
      await assert.rejects(
        load(text),
        (error: unknown) => isRunnerError(error) && error.code === 'CONFIG_INVALID' && expected.test(error.message),
        text,
      );
    }
  });
});

describe('securityWarnings', () => {
  it('is empty for the defaults', () => {
    assert.deepEqual(securityWarnings(DEFAULT_CONFIG), []);
  });

  it('names each relaxed setting', () => {
    const warnings = securityWarnings({
      trust: { strict: false, allowedOwners: [1000], followSymlinksOutside: true },
      policy: PERMISSIVE_POLICY,
    });
    const keys = [
      'trust.strict',
      'trust.followSymlinksOutside',
      'trust.allowedOwners',
      'policy.privileged',
      'policy.capabilities.allowed',
      'policy.seccompUnconfined',
      'policy.appArmorUnconfined',
      'policy.seLinuxOptions',
      'policy.procMountUnmasked',
      'policy.sysctls.allowed',
      'policy.hostPath',
    ];
    assert.equal(warnings.length, keys.length);
    for (const key of keys) {
      assert.ok(
        warnings.some((warning) => warning.startsWith(key)),
        key,
      );
    }
  });
});
