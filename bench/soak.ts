/**
 * Soak: many pods, some crash-looping, for a while; samples the runner's
 * memory (VmRSS) and open file descriptors to show they stay flat.
 *
 *   node --import tsx bench/soak.ts [--pods 50] [--crashers 10] [--minutes 10]
 *
 * Needs root, podman and the test image (scripts/build-busybox-image.sh).
 * Flatness is judged as a ratio, late samples against early ones (medians),
 * in the same run: these shared machines are too noisy for absolute timings.
 * Writes bench/SOAK.md. Not part of the test suite.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { pods: { type: 'string', default: '50' }, crashers: { type: 'string', default: '10' }, minutes: { type: 'string', default: '10' } } });
const pods = Number(values.pods);
const crashers = Number(values.crashers);
const minutes = Number(values.minutes);
const repo = path.resolve(import.meta.dirname, '..');
const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(repo, 'test/fixtures/containers.conf') };
const image = 'localhost/runner-busybox:1';
execFileSync(path.join(repo, 'scripts/build-busybox-image.sh'), [image], { env, stdio: 'inherit' });

const dir = await mkdtemp(path.join(tmpdir(), 'runner-soak-'));
const manifests = path.join(dir, 'manifests');
execFileSync('mkdir', ['-p', manifests, path.join(dir, 'state')]);
await writeFile(path.join(dir, 'config.yaml'), 'resyncIntervalSeconds: 10\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 2, maxSeconds: 30}\nlogLevel: warn\n');
for (let i = 0; i < pods; i += 1) {
  const crash = i < crashers;
  const command = crash ? `sleep ${2 + (i % 5)}; exit 1` : "trap 'exit 0' TERM; while true; do sleep 5; done";
  await writeFile(
    path.join(manifests, `soak-${i}.yaml`),
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: soak-${i}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", ${JSON.stringify(command)}]\n`,
  );
}

const binary = path.join(repo, 'dist/runner');
const useBinary = process.env.SOAK_FROM_SOURCE ? false : await readFile(binary).then(() => true, () => false);
const args = ['run', '--config', path.join(dir, 'config.yaml'), '--manifest-dir', manifests, '--state-dir', path.join(dir, 'state'), '--log-format', 'json'];
const child = useBinary ? spawn(binary, args, { env, stdio: ['ignore', 'ignore', 'ignore'] }) : spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), ...args], { env, stdio: ['ignore', 'ignore', 'ignore'] });
const pid = child.pid!;
child.on('exit', (code, signal) => console.error(`runner exited: code ${code}, signal ${signal}`));

const sample = async (): Promise<{ t: number; rssKiB: number; fds: number; running: number }> => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const list = JSON.parse(execFileSync('podman', ['pod', 'ps', '--format', 'json', '--filter', 'label=static-pod-runner/managed=true'], { env, encoding: 'utf8' }) || '[]') as { Name: string; Status: string }[];
  return { t: Math.round(process.uptime()), rssKiB, fds, running: list.filter((pod) => pod.Name.startsWith('soak-') && pod.Status === 'Running').length };
};

const samples: Awaited<ReturnType<typeof sample>>[] = [];
const end = Date.now() + minutes * 60_000;
try {
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const s = await sample();
    samples.push(s);
    console.log(`t=${s.t}s rss=${(s.rssKiB / 1024).toFixed(1)}MiB fds=${s.fds} running=${s.running}/${pods}`);
  }
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  // Only this run's pods (by source label), and never fail on one that vanished meanwhile.
  const managed = JSON.parse(execFileSync('podman', ['pod', 'ps', '--format', 'json', '--filter', 'label=static-pod-runner/managed=true'], { env, encoding: 'utf8' }) || '[]') as { Id: string; Labels?: Record<string, string> }[];
  const ours = managed.filter((pod) => pod.Labels?.['static-pod-runner/source']?.startsWith(manifests)).map((pod) => pod.Id);
  if (ours.length > 0) spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', ...ours], { env, stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
// Skip the first third (start-up: every pod being played), compare the middle third with the last.
const third = Math.floor(samples.length / 3);
const middle = samples.slice(third, 2 * third);
const last = samples.slice(2 * third);
if (middle.length === 0) throw new Error('too few samples to judge flatness: run for longer (--minutes)');
const rssRatio = median(last.map((s) => s.rssKiB)) / median(middle.map((s) => s.rssKiB));
const fdRatio = median(last.map((s) => s.fds)) / median(middle.map((s) => s.fds));
const report = `# Soak

Generated by \`node --import tsx bench/soak.ts --pods ${pods} --crashers ${crashers} --minutes ${minutes}\` on ${new Date().toISOString().slice(0, 10)}
(${useBinary ? 'dist/runner' : 'runner from source under tsx'}; ${crashers} of ${pods} pods crash-loop with backoff 2 s doubling to 30 s).

| t (s) | RSS (MiB) | open fds | pods running |
| ---: | ---: | ---: | ---: |
${samples.map((s) => `| ${s.t} | ${(s.rssKiB / 1024).toFixed(1)} | ${s.fds} | ${s.running} |`).join('\n')}

Flatness, median of the last third of the samples over the middle third: RSS ×${rssRatio.toFixed(2)}, fds ×${fdRatio.toFixed(2)}.
`;
await writeFile(path.join(repo, 'bench/SOAK.md'), report);
console.log(report);
