#!/usr/bin/env node
// Runs the test suite with node's own test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            every test: unit, component and integration (real podman)
//   node scripts/run-tests.mjs --unit     only tests that need no podman (test/integration and test/packaging excluded)
//   node scripts/run-tests.mjs FILE...    just those files
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const named = args.filter((arg) => !arg.startsWith('--'));

const find = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? find(full) : name.endsWith('.test.ts') ? [full] : [];
  });

const slow = ['test/integration/', 'test/packaging/'];
const files = named.length > 0 ? named : find('test').filter((file) => !unitOnly || !slow.some((dir) => file.startsWith(dir))).sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// Integration tests share one podman: run files one at a time.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
