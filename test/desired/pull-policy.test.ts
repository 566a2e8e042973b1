import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  effectivePullPolicy,
  kubernetesDefaultPolicy,
  type PullPolicy,
  type PullSetting,
} from '../../src/desired/pull-policy.ts';

describe('kubernetesDefaultPolicy', () => {
  const table: [string, PullPolicy][] = [
    ['busybox', 'Always'],
    ['busybox:latest', 'Always'],
    ['localhost/app:1', 'IfNotPresent'],
    ['registry.local:5000/team/app', 'Always'],
    ['registry.local:5000/team/app:2.1', 'IfNotPresent'],
    ['registry.local:5000/team/app:latest', 'Always'],
    ['app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
  ];
  for (const [image, expected] of table)
    it(`${image} → ${expected}`, () => assert.equal(kubernetesDefaultPolicy(image), expected));
});

describe('effectivePullPolicy: the Kubernetes policy clamped by the pull setting', () => {
  const table: [string, PullPolicy | undefined, PullSetting, PullPolicy][] = [
    // pull: never → always Never
    ['app:1', undefined, 'never', 'Never'],
    ['app:latest', undefined, 'never', 'Never'],
    ['app:1', 'Always', 'never', 'Never'],
    ['app:1', 'IfNotPresent', 'never', 'Never'],
    // pull: missing → Always downgraded, the rest kept
    ['app:1', undefined, 'missing', 'IfNotPresent'],
    ['app:latest', undefined, 'missing', 'IfNotPresent'],
    ['app', 'Always', 'missing', 'IfNotPresent'],
    ['app:1', 'Never', 'missing', 'Never'],
    // pull: always → Kubernetes as is
    ['app:1', undefined, 'always', 'IfNotPresent'],
    ['app:latest', undefined, 'always', 'Always'],
    ['app', undefined, 'always', 'Always'],
    ['app:1', 'Always', 'always', 'Always'],
    ['app:latest', 'Never', 'always', 'Never'],
    ['app:latest', 'IfNotPresent', 'always', 'IfNotPresent'],
  ];
  for (const [image, declared, setting, expected] of table) {
    it(`${image} declared ${declared ?? '(unset)'} with pull ${setting} → ${expected}`, () =>
      assert.equal(effectivePullPolicy(image, declared, setting), expected));
  }
});
