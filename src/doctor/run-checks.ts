import { checkCgroups } from './check-cgroups.ts';
import { checkClock, checkManifestDir, checkStorage } from './check-host.ts';
import { checkNetwork } from './check-network.ts';
import { checkPodman, checkRuntime } from './check-podman.ts';
import type { Finding, HostSnapshot } from './host-snapshot.ts';

/** Every check, in the order a reader fixes things: podman first, then what it needs. */
export const runChecks = (snapshot: HostSnapshot): Finding[] => [
  checkPodman(snapshot),
  checkRuntime(snapshot),
  checkNetwork(snapshot),
  ...checkCgroups(snapshot),
  checkStorage(snapshot),
  checkManifestDir(snapshot),
  ...checkClock(snapshot),
];

/** `runner doctor`'s exit status: 0 nothing found, 1 an error (pods will not run), 3 warnings only. */
export const DOCTOR_EXIT = { ok: 0, error: 1, warning: 3 } as const;

export const doctorExitCode = (findings: readonly Finding[]): number =>
  findings.some((finding) => finding.severity === 'error')
    ? DOCTOR_EXIT.error
    : findings.some((finding) => finding.severity === 'warning')
      ? DOCTOR_EXIT.warning
      : DOCTOR_EXIT.ok;
