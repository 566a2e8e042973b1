import type { Finding, HostSnapshot } from './host-snapshot.ts';

/** podman's default `pids_limit` (containers.conf) when none is set. */
export const DEFAULT_PIDS_LIMIT = 2048;

/**
 * The cgroup controllers podman needs are there. Measured in issue 14's
 * nspawn machines: with a pids limit set (podman's default is 2048) and no
 * pids controller, every container fails to start (`crun: controller 'pids'
 * is not available`, runc: `openat2 …/pids.max: no such file or directory`);
 * `pids_limit = 0` alone made them start. crun refuses hybrid hierarchies
 * (`cgroups in hybrid mode not supported`, Debian 12 here); runc runs there.
 */
export const checkCgroups = (snapshot: HostSnapshot): Finding[] => {
  const check = 'cgroups';
  const { info, containersConf, cgroupHybrid } = snapshot;
  if (!info?.ok) return [{ check, severity: 'warning', message: 'not checked: podman info failed' }];
  const { cgroupVersion, cgroupControllers, ociRuntime, rootless } = info.host;
  const layout =
    cgroupHybrid && cgroupVersion === 'v1' ? 'hybrid (v1 controllers, v2 beside them)' : cgroupVersion || 'unknown';
  const findings: Finding[] = [];
  const pidsLimit = containersConf.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!cgroupControllers.includes('pids') && pidsLimit > 0) {
    findings.push({
      check,
      severity: 'error',
      message: `cgroup ${layout} without the pids controller, and containers get a pids limit of ${pidsLimit}${containersConf.pidsLimit === undefined ? " (podman's default)" : ''}: every container fails to start`,
      fix: "set pids_limit = 0 in [containers] of /etc/containers/containers.conf, or enable the pids controller (on cgroup v2: delegate it to podman's cgroup)",
    });
  }
  if (cgroupHybrid && cgroupVersion === 'v1' && ociRuntime.name === 'crun') {
    findings.push({
      check,
      severity: 'error',
      message: 'crun does not run containers on a hybrid cgroup hierarchy ("cgroups in hybrid mode not supported")',
      fix: 'set runtime = "runc" in [engine] of /etc/containers/containers.conf (apt-get install runc), or boot with systemd.unified_cgroup_hierarchy=1',
    });
  }
  const missing = ['memory', 'cpu'].filter((name) => !cgroupControllers.includes(name));
  if (missing.length > 0 && !rootless) {
    findings.push({
      check,
      severity: 'warning',
      message: `cgroup ${layout} without the ${missing.join(' and ')} controller: pods with resources.limits on ${missing.join(' or ')} fail to start`,
      fix: `enable the ${missing.join(' and ')} controller, or leave those limits out of the manifests`,
    });
  }
  if (findings.length === 0)
    findings.push({
      check,
      severity: 'ok',
      message: `cgroup ${layout}, controllers: ${cgroupControllers.join(' ') || '(none reported)'}`,
    });
  return findings;
};
