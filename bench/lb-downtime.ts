/**
 * Load-balancer downtime: the use case the runner exists for (issue 13). A
 * pod on hostNetwork serves a port (busybox `httpd`, standing in for
 * HAProxy); its container dies; how long does the port refuse connections?
 * A prober (bench/port-prober.ts) connects every 20 ms, as clients would.
 * Arms, in one session, taking turns kill by kill:
 *
 * - podman restartPolicy Always: a pod played by hand; conmon restarts the
 *   process itself (no backoff, no limit): the floor;
 * - runner, first restart: the runner's pod, dead after running longer than
 *   the backoff reset (so the restart is immediate);
 * - runner, later restart: killed again as soon as it serves again, so the
 *   restart follows the backoff (initial 1 s here; the default is 10 s).
 *
 *   node --import tsx bench/lb-downtime.ts [--kills 20] [--death crash|podman-kill] [--port 18080] [--binary RUNNER] [--out FILE]
 *   npm run bench:lb
 *
 * Downtime: from the first probe refused to the first that connected again
 * (each within 20 ms of the truth). `crash` (the default) makes the
 * container's main process exit with code 3 (SIGUSR2 from the host, trapped
 * by its shell); `podman-kill` is `podman kill` (SIGKILL), after which
 * podman's own policy restarts nothing (that arm then has no row). The
 * runner (source under tsx, or --binary) runs with a 60 s resync: only the
 * events stream can make it react fast. Needs root, podman, the test image
 * and ports PORT and PORT+1 free on the host. Writes bench/LB-DOWNTIME.md
 * (or --out).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  buildTestImage,
  describeCheckout,
  median,
  removePods,
  PODMAN_ENV as env,
  REPO as repo,
  spawnRunner,
  TEST_IMAGE as image,
} from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    death: { type: 'string', default: 'crash' },
    port: { type: 'string', default: '18080' },
    binary: { type: 'string' },
    out: { type: 'string' },
  },
});
const kills = Number(values.kills);
const death = values.death;
const basePort = Number(values.port);
if (death !== 'crash' && death !== 'podman-kill') throw new Error(`--death must be crash or podman-kill, not ${death}`);
buildTestImage();

/** The backoff the runner runs with here: a later restart waits INITIAL_S; a pod that served RESET_S is new again. */
const INITIAL_S = 1;
const RESET_S = 3;

const podman = (...args: string[]): string => execFileSync('podman', args, { env, encoding: 'utf8' }).trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile90 = (list: number[]): number =>
  [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * 0.9))] ?? Number.NaN;

const podYaml = (name: string, port: number, restartPolicy: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  hostNetwork: true\n  restartPolicy: ${restartPolicy}\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: lb\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", "trap 'exit 0' TERM; trap 'exit 3' USR2; httpd -f -p ${port} -h /www & wait $!"]\n`;

const byHand = { pod: 'lb-podman', port: basePort };
const byRunner = { pod: 'lb-runner', port: basePort + 1 };

/** The prober's news: per port, the outages seen (down → up, Unix ms) and whether it serves now. */
const outages = new Map<number, { downAt: number; up: number }[]>([
  [byHand.port, []],
  [byRunner.port, []],
]);
const serving = new Map<number, boolean>();
const prober = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(repo, 'bench/port-prober.ts'), String(byHand.port), String(byRunner.port)],
  { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
);
createInterface({ input: prober.stdout }).on('line', (line) => {
  const news = JSON.parse(line) as { port: number; down?: number; up?: number; downAt?: number };
  serving.set(news.port, news.up !== undefined);
  if (news.up !== undefined && news.downAt !== undefined)
    outages.get(news.port)!.push({ downAt: news.downAt, up: news.up });
});

/** Makes the pod's container die (see --death) and returns how long its port refused connections. */
const killAndMeasure = async (pod: string, port: number): Promise<number> => {
  const container = `${pod}-lb`;
  const seen = outages.get(port)!.length;
  if (death === 'crash') process.kill(Number(podman('inspect', '--format', '{{.State.Pid}}', container)), 'SIGUSR2');
  else podman('kill', container);
  const deadline = Date.now() + 30_000;
  while (outages.get(port)!.length === seen) {
    if (Date.now() > deadline) throw new Error(`${container} did not serve again within 30 s`);
    await sleep(20);
  }
  const { downAt, up } = outages.get(port)!.at(-1)!;
  return up - downAt;
};

interface Arm {
  label: string;
  delays: number[];
  lost: number;
}
const own: Arm = { label: 'podman restartPolicy Always (conmon restarts it)', delays: [], lost: 0 };
const first: Arm = { label: 'runner, first restart (immediate)', delays: [], lost: 0 };
const later: Arm = { label: `runner, later restart (backoff ${INITIAL_S} s)`, delays: [], lost: 0 };
const measured = death === 'crash' ? [own, first, later] : [first, later];

const row = (arm: Arm): string =>
  arm.delays.length === 0
    ? `| ${arm.label} | – | – | – | – | – | ${arm.lost} | – |`
    : `| ${arm.label} | ${arm.delays.length} | ${median(arm.delays)} | ${percentile90(arm.delays)} | ${Math.min(...arm.delays)} | ${Math.max(...arm.delays)} | ${arm.lost} | ${death === 'crash' ? `×${(median(arm.delays) / median(own.delays)).toFixed(2)}` : '–'} |`;
const command = `node --import tsx bench/lb-downtime.ts --kills ${kills} --death ${death} --port ${basePort}${values.binary ? ` --binary ${values.binary}` : ''}`;
const { head } = describeCheckout(repo);
const writeReport = async (done: number): Promise<string> => {
  const report = `# Load-balancer downtime

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}
(\`npm run bench:lb\` runs the defaults), with ${values.binary === undefined ? 'the runner from source under tsx' : values.binary} at ${head},
podman ${podman('version', '--format', '{{.Client.Version}}')}, ${availableParallelism()} cores (load average at the end: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(', ')}).
A hostNetwork pod serves a port with busybox \`httpd\`; its container ${death === 'crash' ? 'exits by itself with code 3 (a crash)' : 'is killed with `podman kill` (SIGKILL)'}.
Downtime: from the first connection refused to the first accepted again, probing 127.0.0.1 every 20 ms.
${done} of ${kills} rounds; each round: the podman-policy pod dies once, the runner's pod dies once after serving longer than the
backoff reset (${RESET_S} s) and once more as soon as it serves again (its restart then waits the backoff, ${INITIAL_S} s here; 10 s by default).

| who restarts | kills | median downtime (ms) | p90 (ms) | min (ms) | max (ms) | lost | median / podman's own |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${[own, first, later].map(row).join('\n')}

Lost: the port was not served again 30 s after the kill (the container was then started by hand).${death === 'crash' ? '' : ' podman restarts nothing after `podman kill`: its own policy has no row here.'}
`;
  await writeFile(values.out ?? path.join(repo, 'bench/LB-DOWNTIME.md'), report);
  return report;
};

removePods([byHand.pod, byRunner.pod]);
const dir = await mkdtemp(path.join(tmpdir(), 'runner-lb-'));
const manifests = path.join(dir, 'manifests');
await Promise.all(
  [manifests, path.join(dir, 'state'), path.join(dir, 'images')].map((item) => mkdir(item, { recursive: true })),
);
await writeFile(
  path.join(dir, 'config.yaml'),
  `resyncIntervalSeconds: 60\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: ${INITIAL_S}, maxSeconds: 10, resetAfterSeconds: ${RESET_S}}\nlogLevel: warn\n`,
);
await writeFile(path.join(manifests, `${byRunner.pod}.yaml`), podYaml(byRunner.pod, byRunner.port, 'Always'));
execFileSync('podman', ['kube', 'play', '--quiet', '-'], {
  env,
  input: podYaml(byHand.pod, byHand.port, 'Always'),
  stdio: ['pipe', 'ignore', 'inherit'],
});
const args = [
  'run',
  '--config',
  path.join(dir, 'config.yaml'),
  '--manifest-dir',
  manifests,
  '--state-dir',
  path.join(dir, 'state'),
  '--images-dir',
  path.join(dir, 'images'),
];
const runner = spawnRunner(values.binary, args, env, 'ignore');
const runnerExited = new Promise((resolve) => runner.on('exit', resolve));

/** One kill of `arm`'s pod; a port still refused after 30 s is a loss (the container is started by hand). */
const measure = async (arm: Arm, pod: string, port: number): Promise<void> => {
  try {
    arm.delays.push(await killAndMeasure(pod, port));
    console.log(`${arm.label}: ${arm.delays.at(-1)} ms`);
  } catch (error) {
    arm.lost += 1;
    console.log(`${arm.label}: lost (${(error as Error).message}); starting it by hand`);
    spawnSync('podman', ['start', `${pod}-lb`], { env, stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (serving.get(port) !== true && Date.now() < deadline) await sleep(100);
  }
};

try {
  const deadline = Date.now() + 120_000;
  while (serving.get(byHand.port) !== true || serving.get(byRunner.port) !== true) {
    if (Date.now() > deadline)
      throw new Error(`ports ${byHand.port} and ${byRunner.port} were not both served within 120 s`);
    await sleep(200);
  }
  await sleep(RESET_S * 1000 + 2_000); // the runner has its keeper and the events stream; the pod has served past the reset
  for (let i = 0; i < kills; i += 1) {
    if (measured.includes(own)) {
      await measure(own, byHand.pod, byHand.port);
      await sleep(1_000);
    }
    await measure(first, byRunner.pod, byRunner.port);
    await measure(later, byRunner.pod, byRunner.port);
    await sleep(RESET_S * 1000 + 1_000); // past the reset: the next death is a first one again
    await writeReport(i + 1);
  }
} finally {
  prober.kill();
  if (runner.exitCode === null) runner.kill('SIGTERM');
  await runnerExited;
  removePods([byHand.pod, byRunner.pod]);
  await rm(dir, { recursive: true, force: true });
}

console.log(await writeReport(kills));
