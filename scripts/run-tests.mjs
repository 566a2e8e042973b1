#!/usr/bin/env node
// Runs the test suite with node's own test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            every test: unit, component and integration (real podman)
//   node scripts/run-tests.mjs --unit     only tests that need no podman (test/integration and test/packaging left out)
//   node scripts/run-tests.mjs FILE...    just those files
// Node 20's --test takes no globs, so the files are listed here. Fast tiers
// run two files at a time; the podman and packaging tiers share one podman
// and one dpkg database, so their files run one at a time. The last line
// adds both runs up.
import { spawn } from 'node:child_process';
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

const slowDirs = ['test/integration/', 'test/packaging/'];
const isSlow = (file) => slowDirs.some((dir) => file.startsWith(dir));
const files = named.length > 0 ? named : find('test').sort();
const fast = files.filter((file) => !isSlow(file));
const slow = unitOnly ? [] : files.filter(isSlow);
if (fast.length + slow.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

const totals = { pass: 0, fail: 0 };
const run = (tierFiles, concurrency) =>
  new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...tierFiles],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('exit', (code) => {
      for (const key of ['pass', 'fail']) {
        const match = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tail);
        totals[key] += match ? Number(match[1]) : 0;
      }
      resolve(code ?? 1);
    });
  });

let status = 0;
if (fast.length > 0) status = (await run(fast, 2)) || status;
if (slow.length > 0) status = (await run(slow, 1)) || status;
console.log(`all tiers: ${totals.pass} passed, ${totals.fail} failed`);
process.exit(status);
