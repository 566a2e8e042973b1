import { doctorExitCode, gatherSnapshot, runChecks, type Finding } from '../doctor/index.ts';
import { CliPodman } from '../podman/cli-podman.ts';
import { systemClock } from '../shared/clock.ts';
import { printable, printableJson } from '../shared/printable.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { DOCTOR, DOCTOR_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';

/** podman info can take a while on a loaded host, but a check must not hang a script. */
const PODMAN_TIMEOUT_MS = 30_000;

/** `runner doctor`: what on this host will stop pods from running, and the fix for each. Changes nothing. */
export const doctorCommand = (argv: string[], write: Write): Promise<number> => invokeCommand(DOCTOR, argv, write);

/** The handler of DOCTOR (src/cli/commands.ts). */
export const runDoctor = async ({ values }: ParsedArgs<typeof DOCTOR_FLAGS>, write: Write): Promise<number> => {
  const config = await loadCliConfig(values);
  const podman = new CliPodman({
    path: config.podman.path,
    timeoutMs: Math.min(PODMAN_TIMEOUT_MS, config.podman.timeoutSeconds * 1000),
  });
  const snapshot = await gatherSnapshot({
    podman,
    manifestDir: config.manifestDir,
    stateDir: config.stateDir,
    trust: config.trust,
    clock: systemClock,
    env: process.env,
  });
  const findings = runChecks(snapshot);
  const code = doctorExitCode(findings);
  write(
    values.json
      ? `${printableJson(JSON.stringify({ exitCode: code, findings }, null, 2))}\n`
      : renderFindings(findings),
  );
  return code;
};

const LABEL: Record<Finding['severity'], string> = { ok: 'ok', warning: 'WARNING', error: 'ERROR' };

/** One row per finding; the fix on the line below a finding that is not ok. */
export const renderFindings = (findings: readonly Finding[]): string => {
  const width = Math.max(5, ...findings.map((finding) => finding.check.length));
  const lines = [`${'CHECK'.padEnd(width)}  ${'STATUS'.padEnd(7)}  DETAIL`];
  for (const finding of findings) {
    lines.push(`${finding.check.padEnd(width)}  ${LABEL[finding.severity].padEnd(7)}  ${printable(finding.message)}`);
    if (finding.fix && finding.severity !== 'ok') lines.push(`${' '.repeat(width + 11)}fix: ${printable(finding.fix)}`);
  }
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  const warnings = findings.filter((finding) => finding.severity === 'warning').length;
  lines.push(
    '',
    errors + warnings === 0
      ? 'nothing found that would stop pods from running'
      : `${errors} error(s), ${warnings} warning(s)`,
  );
  return `${lines.join('\n')}\n`;
};
