import type { Finding, HostSnapshot } from './host-snapshot.ts';

/** A clock this far behind the runner's last record is not a rounding difference. */
export const CLOCK_SLACK_MS = 60_000;
/** Earlier than this, the clock was never set (a box without RTC before NTP). */
const CLOCK_FLOOR = Date.UTC(2024, 0, 1);

/** podman's storage can be written: every play, load and container start writes there. */
export const checkStorage = (snapshot: HostSnapshot): Finding => {
  const check = 'storage';
  const { storage } = snapshot;
  if (!storage) return { check, severity: 'warning', message: 'not checked: podman info failed' };
  if (storage.writable) return { check, severity: 'ok', message: `${storage.path} is writable` };
  return {
    check,
    severity: 'error',
    message: `podman's storage ${storage.path} is not writable: ${storage.reason}`,
    fix: `make ${storage.path} writable by the runner's user (a read-write mount with free space), or set graphroot in /etc/containers/storage.conf`,
  };
};

/** The manifest directory exists and passes the trust check the daemon applies (src/manifest/trust.ts). */
export const checkManifestDir = (snapshot: HostSnapshot): Finding => {
  const check = 'manifests';
  const { path, exists, trustProblem } = snapshot.manifestDir;
  if (!exists)
    return {
      check,
      severity: 'error',
      message: `manifest directory ${path} does not exist: the runner will not start`,
      fix: `mkdir -p ${path} && chmod 755 ${path}, or set manifestDir in the config file`,
    };
  if (trustProblem) {
    const [, message = trustProblem, fix] = /^(.*): (run ".*)$/.exec(trustProblem) ?? [];
    return {
      check,
      severity: 'error',
      message: `${message}: the runner refuses its manifests`,
      ...(fix ? { fix } : {}),
    };
  }
  return { check, severity: 'ok', message: `${path} is trusted` };
};

/** The clock and the boot id, which restart decisions and the reboot detection rely on. */
export const checkClock = (snapshot: HostSnapshot): Finding[] => {
  const { now, lastRecorded, bootId } = snapshot.clock;
  const findings: Finding[] = [];
  if (bootId === undefined) {
    findings.push({
      check: 'boot id',
      severity: 'warning',
      message: 'cannot read /proc/sys/kernel/random/boot_id: the runner cannot tell a reboot from its own restart',
      fix: 'run the runner where /proc is mounted (not in a chroot)',
    });
  }
  if (now < CLOCK_FLOOR) {
    findings.push({
      check: 'clock',
      severity: 'warning',
      message: `the clock reads ${new Date(now).toISOString()}: it was never set`,
      fix: 'set the clock (timedatectl set-ntp true, or an RTC)',
    });
  } else if (lastRecorded && lastRecorded.at - now > CLOCK_SLACK_MS) {
    findings.push({
      check: 'clock',
      severity: 'warning',
      message: `the clock reads ${new Date(now).toISOString()}, ${Math.round((lastRecorded.at - now) / 1000)} s before the runner's last record in ${lastRecorded.file}: restart times, backoff and events will be out of order`,
      fix: 'set the clock (timedatectl set-ntp true); it went backwards since the runner last ran',
    });
  }
  if (findings.every((finding) => finding.check !== 'clock'))
    findings.push({ check: 'clock', severity: 'ok', message: new Date(now).toISOString() });
  if (bootId !== undefined) findings.push({ check: 'boot id', severity: 'ok', message: bootId });
  return findings;
};
