import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;

/** The licence text shipped in an installed npm package, if it has one. */
export const readPackageLicense = (packageDir: string): string | undefined => {
  if (!existsSync(packageDir)) return undefined;
  const file = readdirSync(packageDir).find((name) => LICENSE_FILE.test(name));
  return file === undefined ? undefined : readFileSync(join(packageDir, file), 'utf8');
};

/**
 * The notice shipped with the binary: the embedded Node.js licence (which
 * itself lists Node's bundled components) and the licence of every npm package
 * in the bundle. Throws if a bundled package has no licence file, so a new
 * dependency cannot slip into the binary without its notice.
 */
export const thirdPartyNotice = (nodeLicense: string, packageDirs: string[], root: string): string => {
  const sections = [`Node.js (embedded runtime)\n\n${nodeLicense.trim()}`];
  for (const dir of packageDirs) {
    const text = readPackageLicense(join(root, dir));
    if (text === undefined) throw new Error(`${dir}: no LICENSE file to put into the third-party notice`);
    const { name, version } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    sections.push(`${name} ${version} (npm package, bundled)\n\n${text.trim()}`);
  }
  const rule = `\n\n${'-'.repeat(78)}\n\n`;
  return `Third-party software in /usr/bin/runner\n${rule}${sections.join(rule)}\n`;
};
