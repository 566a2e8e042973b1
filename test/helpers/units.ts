import path from 'node:path';
import { buildUnits } from '../../src/desired/build-units.ts';
import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import type { ManifestSnapshot } from '../../src/manifest/read-manifest-dir.ts';
import { parseManifest, type ParsedManifest } from '../../src/manifest/parse-manifest.ts';

/** A minimal valid Pod manifest. */
export const podYaml = (
  name: string,
  options: { image?: string; command?: string[]; restartPolicy?: string; grace?: number } = {},
): string =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...(options.restartPolicy ? [`  restartPolicy: ${options.restartPolicy}`] : []),
    ...(options.grace !== undefined ? [`  terminationGracePeriodSeconds: ${options.grace}`] : []),
    '  containers:',
    '    - name: main',
    `      image: ${options.image ?? 'busybox'}`,
    ...(options.command ? [`      command: ${JSON.stringify(options.command)}`] : []),
    '',
  ].join('\n');

export const deploymentYaml = (name: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 1\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: main\n          image: busybox\n`;

/** Parses `text` as the manifest `file`, failing loudly if the test's own input is unexpectedly invalid. */
export const parsed = (file: string, text: string): ParsedManifest => parseManifest(file, text);

export const snapshotOf = (dir: string, files: Record<string, string>): ManifestSnapshot => ({
  dir,
  files: Object.keys(files)
    .sort()
    .map((name) => parseManifest(path.join(dir, name), files[name]!)),
});

/** The units of one valid file. */
export const unitsOf = (file: string, text: string, defaultStopTimeoutSeconds = 10): DesiredUnit[] => {
  const manifest = parseManifest(file, text);
  if (manifest.problems.length > 0)
    throw new Error(`test manifest ${file} is invalid: ${JSON.stringify(manifest.problems)}`);
  return buildUnits(manifest, { defaultStopTimeoutSeconds });
};

export const unitOf = (file: string, text: string): DesiredUnit => {
  const [unit] = unitsOf(file, text);
  if (!unit) throw new Error(`no unit in ${file}`);
  return unit;
};
