import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a file under test/fixtures/manifests. */
export const manifestFixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/manifests/${name}`, import.meta.url));

export const readManifestFixture = (name: string): string => readFileSync(manifestFixture(name), 'utf8');
