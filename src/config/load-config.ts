import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { LineCounter, parseDocument } from 'yaml';
import { RunnerError } from '../shared/errors.ts';
import { formatFieldPath } from '../manifest/manifest-problem.ts';
import { LEVEL_POLICIES, type Policy } from '../policy/policy.ts';
import { configFileSchema, DEFAULT_CONFIG, type ConfigFile, type RunnerConfig } from './config-schema.ts';

/**
 * Reads and validates the config file. A missing file is fine when it is the
 * default path (`required` false): the defaults apply. Every mistake is
 * reported at once, each with its key path and line.
 */
export const loadConfigFile = async (file: string, required: boolean): Promise<ConfigFile> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return {};
    throw new RunnerError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map(
      (error) => `${file}:${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`,
    );
    throw new RunnerError('CONFIG_INVALID', `invalid config file:\n  ${lines.join('\n  ')}`);
  }
  const raw = (doc.toJS({ maxAliasCount: 100 }) as unknown) ?? {};
  const result = v.safeParse(configFileSchema, raw);
  if (result.success) return result.output;
  const lines = result.issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => item.key as string | number);
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const line = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
    return `${file}${line}: ${formatFieldPath(path) || '(top level)'}: ${issue.message}`;
  });
  throw new RunnerError('CONFIG_INVALID', `invalid config file:\n  ${lines.join('\n  ')}`);
};

/**
 * The policy: the level's policy (baseline unless `level` says otherwise),
 * then the file's keys, key by key; a list given in the file replaces the
 * level's list (it is not appended to).
 */
const resolvePolicy = (file: NonNullable<ConfigFile['policy']>): Policy => {
  const defined = <T extends object>(value: T): Partial<T> =>
    Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
  const base = LEVEL_POLICIES[file.level ?? 'baseline'];
  return {
    ...base,
    ...defined({ ...file, capabilities: undefined, hostPath: undefined, hostPorts: undefined, sysctls: undefined }),
    capabilities: { ...base.capabilities, ...defined(file.capabilities ?? {}) },
    hostPath: { ...base.hostPath, ...defined(file.hostPath ?? {}) },
    hostPorts: { ...base.hostPorts, ...defined(file.hostPorts ?? {}) },
    sysctls: { ...base.sysctls, ...defined(file.sysctls ?? {}) },
  } as Policy;
};

/** Defaults, then the file, then flags: later wins. */
export const resolveConfig = (
  file: ConfigFile,
  flags: Partial<Omit<RunnerConfig, 'podman' | 'restartBackoff' | 'trust' | 'policy'>>,
): RunnerConfig => {
  const defined = <T extends object>(value: T): Partial<T> =>
    Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
  return {
    ...DEFAULT_CONFIG,
    ...defined({ ...file, podman: undefined, restartBackoff: undefined, trust: undefined, policy: undefined }),
    ...defined(flags),
    podman: { ...DEFAULT_CONFIG.podman, ...defined(file.podman ?? {}) },
    restartBackoff: { ...DEFAULT_CONFIG.restartBackoff, ...defined(file.restartBackoff ?? {}) },
    trust: { ...DEFAULT_CONFIG.trust, ...defined(file.trust ?? {}) },
    policy: resolvePolicy(file.policy ?? {}),
  };
};
