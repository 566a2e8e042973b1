import type { Finding, HostSnapshot } from './host-snapshot.ts';

/** The oldest podman the runner is developed and tested against (README, "podman versions"). */
export const MINIMUM_PODMAN = '4.3.0';

const INSTALL_PODMAN =
  'install podman 4.3 or later (apt-get install podman, dnf install podman), or set podman.path in the config file';

/** [major, minor, patch] of a version such as `4.3.1` or `5.4.0-rc2`; undefined when it is not one. */
export const parseVersion = (text: string): [number, number, number] | undefined => {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
};

export const versionAtLeast = (version: [number, number, number], minimum: [number, number, number]): boolean => {
  for (let i = 0; i < 3; i += 1) if (version[i] !== minimum[i]) return version[i]! > minimum[i]!;
  return true;
};

/** podman is there, answers, and is not older than the runner supports. */
export const checkPodman = (snapshot: HostSnapshot): Finding => {
  const check = 'podman';
  const { podman } = snapshot;
  if (!podman.ok) {
    if (podman.kind === 'podman-missing')
      return { check, severity: 'error', message: podman.message, fix: INSTALL_PODMAN };
    // Said once, under "oci runtime", with its fix.
    if (podman.kind === 'runtime-missing')
      return {
        check,
        severity: 'error',
        message: 'podman is installed but fails on every command: it has no usable OCI runtime (see "oci runtime")',
      };
    return {
      check,
      severity: 'error',
      message: `podman version failed: ${podman.message}`,
      fix: 'run "podman version" by hand and fix what it says',
    };
  }
  const version = parseVersion(podman.version);
  if (!version)
    return {
      check,
      severity: 'warning',
      message: `podman reports version "${podman.version}", which the runner cannot compare`,
      fix: `make sure it is ${MINIMUM_PODMAN} or later`,
    };
  if (!versionAtLeast(version, parseVersion(MINIMUM_PODMAN)!)) {
    return {
      check,
      severity: 'error',
      message: `podman ${podman.version} is older than ${MINIMUM_PODMAN}, the oldest the runner supports`,
      fix: INSTALL_PODMAN,
    };
  }
  return { check, severity: 'ok', message: `podman ${podman.version}` };
};

/** The OCI runtime podman is configured to use exists (every container start needs it). */
export const checkRuntime = (snapshot: HostSnapshot): Finding => {
  const check = 'oci runtime';
  const { info } = snapshot;
  if (!info) return { check, severity: 'warning', message: 'not checked: podman did not answer' };
  if (!info.ok) {
    if (info.kind === 'runtime-missing') {
      return {
        check,
        severity: 'error',
        message: `podman has no usable OCI runtime: ${info.causeLine || info.message}`,
        fix: 'install the runtime podman is configured to use (apt-get install crun or runc), or name an installed one with runtime = "runc" in [engine] of /etc/containers/containers.conf',
      };
    }
    return {
      check,
      severity: 'error',
      message: `podman info failed: ${info.causeLine || info.message}`,
      fix: 'run "podman info" by hand and fix what it says',
    };
  }
  const runtime = info.host.ociRuntime;
  if (!runtime.name || !runtime.path)
    return {
      check,
      severity: 'error',
      message: 'podman info names no OCI runtime',
      fix: 'install crun or runc (apt-get install crun)',
    };
  return { check, severity: 'ok', message: `${runtime.name} at ${runtime.path}` };
};
