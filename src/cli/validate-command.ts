import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { buildDesiredState } from '../desired/desired-state.ts';
import { ignoredReason } from '../manifest/manifest-files.ts';
import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import { readAndParse, readManifestDir } from '../manifest/read-manifest-dir.ts';
import type { ParsedManifest } from '../manifest/parse-manifest.ts';
import { DEFAULT_CONFIG, DEFAULT_CONFIG_PATH } from '../config/config-schema.ts';
import { loadConfigFile, resolveConfig } from '../config/load-config.ts';
import { RunnerError } from '../shared/errors.ts';
import { printable } from '../shared/printable.ts';
import { VALIDATE_HELP } from './help.ts';
import { parseFlags } from './parse-flags.ts';

/**
 * `runner validate FILE|DIR...`: the daemon's own parser and rules, with no
 * podman. Manifests are untrusted input here, so every line is printed
 * escaped: a value holding a newline cannot forge an `ok` line.
 */
export const validateCommand = async (argv: string[], write: (text: string) => void): Promise<number> => {
  const { values, positionals } = parseFlags(argv, { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    write(VALIDATE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new RunnerError('USAGE', 'runner validate needs at least one FILE or DIR');

  // The daemon's policy and trust settings; trust problems are only warnings here (see VALIDATE_HELP).
  const config = resolveConfig(await loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined), {});
  const read = { trust: config.trust, policy: config.policy, trustMode: 'warn' as const };
  const warnings: ManifestProblem[] = [];
  const problems: ManifestProblem[] = [];
  const manifests: ParsedManifest[] = [];
  for (const target of positionals) {
    const info = await stat(target).catch(() => undefined);
    if (!info) {
      problems.push({ file: target, message: 'no such file or directory' });
    } else if (info.isDirectory()) {
      for (const name of (await readdir(target)).sort()) {
        const reason = ignoredReason(name);
        if (reason && !name.startsWith('.')) write(`${printable(path.join(target, name))}: ignored (${reason})\n`);
      }
      const snapshot = await readManifestDir(target, read);
      manifests.push(...snapshot.files);
      warnings.push(...(snapshot.warnings ?? []));
      // The same name-clash rule as the daemon, as if nothing ran yet.
      const desired = buildDesiredState({ snapshot, currentOwners: new Map(), lastApplied: [], defaultStopTimeoutSeconds: DEFAULT_CONFIG.stopTimeoutSeconds });
      const parseInvalid = new Set(snapshot.files.filter((manifest) => manifest.problems.length > 0).map((manifest) => manifest.file));
      for (const [file, clash] of desired.heldFiles) if (!parseInvalid.has(file)) problems.push(...clash);
    } else {
      const parsed = await readAndParse(target, { ...read, warnings });
      if (parsed) manifests.push(parsed);
      else problems.push({ file: target, message: 'file disappeared while being read' });
    }
  }
  for (const manifest of manifests) problems.push(...manifest.problems);

  const invalid = new Set(problems.map((problem) => problem.file));
  for (const manifest of manifests) {
    if (invalid.has(manifest.file)) continue;
    const kinds = manifest.documents.map((doc) => `${doc.kind}/${doc.name}`);
    write(`${printable(manifest.file)}: ok${kinds.length > 0 ? ` (${printable(kinds.join(', '))})` : ' (empty)'}\n`);
  }
  for (const warning of warnings) write(`${printable(formatProblem(warning))} (warning: "runner run" would refuse this)\n`);
  for (const problem of problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0))) write(`${printable(formatProblem(problem))}\n`);
  const checked = new Set([...manifests.map((m) => m.file), ...invalid]).size;
  write(`${checked} file(s) checked: ${checked - invalid.size} valid, ${invalid.size} invalid\n`);
  return invalid.size === 0 ? 0 : 1;
};
