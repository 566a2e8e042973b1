import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { buildDesiredState } from '../desired/desired-state.ts';
import { ignoredReason } from '../manifest/manifest-files.ts';
import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import { readAndParse, readManifestDir } from '../manifest/read-manifest-dir.ts';
import type { ParsedManifest } from '../manifest/parse-manifest.ts';
import { DEFAULT_CONFIG } from '../config/config-schema.ts';
import { printable } from '../shared/printable.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { VALIDATE, VALIDATE_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';

/**
 * `runner validate FILE|DIR...`: the daemon's own parser and rules, with no
 * podman. Manifests are untrusted input here, so every line is printed
 * escaped: a value holding a newline cannot forge an `ok` line.
 */
export const validateCommand = (argv: string[], write: Write): Promise<number> => invokeCommand(VALIDATE, argv, write);

/** The handler of VALIDATE (src/cli/commands.ts). */
export const validateManifests = async (
  { values, positionals }: ParsedArgs<typeof VALIDATE_FLAGS>,
  write: Write,
): Promise<number> => {
  // The daemon's policy and trust settings; trust problems are only warnings here (see VALIDATE's help).
  const config = await loadCliConfig(values);
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
      const desired = buildDesiredState({
        snapshot,
        currentOwners: new Map(),
        lastApplied: [],
        defaultStopTimeoutSeconds: DEFAULT_CONFIG.stopTimeoutSeconds,
      });
      const parseInvalid = new Set(
        snapshot.files.filter((manifest) => manifest.problems.length > 0).map((manifest) => manifest.file),
      );
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
  for (const warning of warnings)
    write(`${printable(formatProblem(warning))} (warning: "runner run" would refuse this)\n`);
  for (const problem of problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0)))
    write(`${printable(formatProblem(problem))}\n`);
  const checked = new Set([...manifests.map((m) => m.file), ...invalid]).size;
  write(`${checked} file(s) checked: ${checked - invalid.size} valid, ${invalid.size} invalid\n`);
  return invalid.size === 0 ? 0 : 1;
};
