import type { TrustOptions } from '../manifest/trust.ts';
import { isUnderPrefix } from '../policy/host-path.ts';
import type { Policy } from '../policy/policy.ts';

/**
 * What the runner should say loudly at start-up about a relaxed trust or
 * policy setting. Pure: the daemon logs each line as a warning.
 */
export const securityWarnings = (config: { trust: TrustOptions; policy: Policy }): string[] => {
  const { trust, policy } = config;
  const warnings: string[] = [];
  if (!trust.strict) {
    warnings.push(
      'trust.strict is false: manifests are applied even when the manifest directory or a file is writable by group or others or owned by another user; anyone who can write there can run root containers on this host',
    );
  }
  if (trust.followSymlinksOutside) {
    warnings.push(
      'trust.followSymlinksOutside is true: symlinks in the manifest directory may point anywhere, so whoever can write their targets controls what runs',
    );
  }
  if (trust.allowedOwners.length > 0)
    warnings.push(
      `trust.allowedOwners: manifests owned by uid ${trust.allowedOwners.join(', ')} are trusted as if written by root`,
    );
  if (policy.privileged === 'allow')
    warnings.push('policy.privileged is allow: a manifest can run fully privileged containers');
  if (policy.capabilities.allowed === 'any')
    warnings.push('policy.capabilities.allowed is "any": a manifest can add any capability, SYS_ADMIN included');
  if (policy.seccompUnconfined === 'allow')
    warnings.push('policy.seccompUnconfined is allow: a manifest can turn off the system-call filter');
  if (policy.appArmorUnconfined === 'allow')
    warnings.push('policy.appArmorUnconfined is allow: a manifest can turn off AppArmor confinement');
  if (policy.seLinuxOptions === 'allow')
    warnings.push(
      'policy.seLinuxOptions is allow: a manifest can choose any SELinux user, role and type, spc_t (unconfined) included',
    );
  if (policy.procMountUnmasked === 'allow')
    warnings.push('policy.procMountUnmasked is allow: a manifest can see /proc and /sys without the masked paths');
  if (policy.sysctls.allowed === 'any')
    warnings.push('policy.sysctls.allowed is "any": a manifest can set any sysctl podman accepts');
  if (
    policy.hostPath.allow &&
    (isUnderPrefix('/', policy.hostPath.pathPrefixes) || isUnderPrefix('/', policy.hostPath.readOnlyPathPrefixes))
  )
    warnings.push('policy.hostPath includes "/": a manifest can mount any host path');
  return warnings;
};
