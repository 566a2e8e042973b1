import { parseVersion, versionAtLeast } from './check-podman.ts';
import type { Finding, HostSnapshot } from './host-snapshot.ts';

const IPTABLES_FIX = 'install iptables (apt-get install iptables, dnf install iptables-nft)';
const NFT_FIX = 'install nftables (apt-get install nftables, dnf install nftables)';

/**
 * The firewall program the container network needs to start a default
 * (bridge-network) pod is there. CNI's plugins and netavark before 1.14 run
 * iptables; netavark 1.14 and later run nft unless containers.conf sets
 * `firewall_driver = "iptables"` (the packages' dependencies follow the same
 * rule: deb/control.in, rpm/static-pod-runner.spec). Without it every pod
 * that is not hostNetwork fails to start: on a minimal Debian 12 box,
 * `netavark: No such file or directory (os error 2)`.
 */
export const checkNetwork = (snapshot: HostSnapshot): Finding => {
  const check = 'network';
  const { info, firewall, containersConf } = snapshot;
  if (!info?.ok) return { check, severity: 'warning', message: 'not checked: podman info failed' };
  const backend = info.host.networkBackend;
  if (info.host.rootless)
    return { check, severity: 'ok', message: `${backend || 'unknown backend'}, rootless (no host firewall rules)` };
  const found = (name: 'iptables' | 'nft'): string => (firewall[name] ? `${name} at ${firewall[name]}` : `no ${name}`);
  const needs = (name: 'iptables' | 'nft', why: string): Finding =>
    firewall[name]
      ? { check, severity: 'ok', message: `${why}; ${found(name)}` }
      : {
          check,
          severity: 'error',
          message: `${why}, and ${name} is not installed: every pod that is not hostNetwork fails to start`,
          fix: name === 'iptables' ? IPTABLES_FIX : NFT_FIX,
        };
  if (backend === 'cni') return needs('iptables', 'podman uses CNI, whose plugins run iptables');
  if (backend !== 'netavark')
    return {
      check,
      severity: 'warning',
      message: `podman's network backend "${backend}" is not one the runner knows (cni, netavark)`,
    };
  const version = info.host.networkBackendVersion ? parseVersion(info.host.networkBackendVersion) : undefined;
  const driver = containersConf.firewallDriver;
  if (driver === 'iptables' || driver === 'nftables')
    return needs(driver === 'iptables' ? 'iptables' : 'nft', `netavark with firewall_driver = "${driver}"`);
  if (version && !versionAtLeast(version, [1, 14, 0]))
    return needs('iptables', `netavark ${version.join('.')} runs iptables`);
  if (version) return needs('nft', `netavark ${version.join('.')} runs nft by default`);
  // podman 4.x does not report netavark's version; any of the two may be the one it runs.
  if (firewall.iptables || firewall.nft)
    return { check, severity: 'ok', message: `netavark; ${found('iptables')}, ${found('nft')}` };
  return {
    check,
    severity: 'error',
    message:
      'netavark needs iptables (before 1.14) or nft (1.14 and later), and neither is installed: every pod that is not hostNetwork fails to start',
    fix: IPTABLES_FIX,
  };
};
