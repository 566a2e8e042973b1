/** Pure naming rules of the packages, shared by scripts/package.ts and the tests. */
import type { Arch } from '../build/node-runtime.ts';

export const PACKAGE_NAME = 'static-pod-runner';

export const DEB_ARCH: Record<Arch, string> = { x64: 'amd64', arm64: 'arm64' };
export const RPM_ARCH: Record<Arch, string> = { x64: 'x86_64', arm64: 'aarch64' };

/** The file `npm run build` writes for each architecture. */
export const BINARY_FILE: Record<Arch, string> = { x64: 'runner', arm64: 'runner-arm64' };

export const debFileName = (version: string, arch: Arch): string => `${PACKAGE_NAME}_${version}_${DEB_ARCH[arch]}.deb`;

export const rpmFileName = (version: string, arch: Arch): string => `${PACKAGE_NAME}-${version}.${RPM_ARCH[arch]}.rpm`;

/**
 * Library dependencies of the embedded Node.js binary, as dpkg-shlibdeps
 * computes them on Debian 12 for the amd64 binary (the arm64 one needs the
 * same symbol versions; test/packaging checks the amd64 value stays right).
 */
export const DEB_LIB_DEPENDS = 'libc6 (>= 2.34), libgcc-s1 (>= 3.4), libstdc++6 (>= 10.2)';

/**
 * Replaces every `@NAME@` in `template` with `values[NAME]`. Throws when the
 * template names a value that is missing, so a typo cannot ship as literal text.
 */
export const renderTemplate = (template: string, values: Record<string, string>): string =>
  template.replace(/@([A-Z_]+)@/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template value @${name}@ is not defined`);
    return value;
  });

/** The RFC 2822 date Debian changelogs use, in UTC, from a Unix time in seconds. */
export const debianDate = (epochSeconds: number): string => {
  const date = new Date(epochSeconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
};

/** A one-entry Debian changelog: lintian requires one in every package. */
export const debianChangelog = (version: string, maintainer: string, epochSeconds: number, commit: string): string =>
  `${PACKAGE_NAME} (${version}) unstable; urgency=medium\n\n  * Release ${version}, built from commit ${commit}.\n\n -- ${maintainer}  ${debianDate(epochSeconds)}\n`;

/** The date of an rpm %changelog entry (`Thu Jan 01 1970`), in UTC, from a Unix time in seconds. */
export const rpmChangelogDate = (epochSeconds: number): string => {
  const date = new Date(epochSeconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, '0')} ${date.getUTCFullYear()}`;
};

/**
 * The spec's one-entry %changelog, appended to the spec at build time: the rpm
 * twin of debianChangelog (rpmlint requires one). rpm expands macros in the
 * changelog, so `%{version}-%{release}` comes from the spec and a `%` in the
 * packager or commit is doubled.
 */
export const rpmChangelog = (packager: string, epochSeconds: number, commit: string): string => {
  const literal = (text: string): string => text.replaceAll('%', '%%');
  return `%changelog\n* ${rpmChangelogDate(epochSeconds)} ${literal(packager)} - %{version}-%{release}\n- Release %{version}, built from commit ${literal(commit)}.\n`;
};
