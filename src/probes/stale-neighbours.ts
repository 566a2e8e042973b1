import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { PodAddress } from '../podman/podman.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * Clears the host's neighbour (ARP) entry for a pod's IP when it still names
 * the MAC of an earlier holder of that IP, so that the runner's network
 * probes reach the pod at once.
 *
 * Why: podman's bridge networks hand IPs out in turn and reuse them once the
 * range wraps (host-local IPAM on podman 4.3's CNI: after 253 pods on the
 * default /24). The host keeps a neighbour entry for an IP it talked to long
 * after that pod is gone (STALE; the kernel collects entries only past
 * gc_thresh1, 128 of them), and the new pod's interface does not correct it.
 * The first packets then go to the old MAC: the kernel waits 5 s for a
 * confirmation that never comes, probes the old MAC 3 times, and only then
 * asks the network. Measured on podman 4.3.1 (CNI bridge): a pod whose IP had
 * an entry with another MAC answered the host after 8.7 s, 4 of 4, whether
 * played with or without its keeper first; with the entry deleted, after
 * 0.11 s. Liveness probes with a shorter budget (periodSeconds 1,
 * failureThreshold 2) restarted that healthy container.
 *
 * The entry is read from /proc/net/arp and deleted with `ip neigh del`
 * (iproute2); only an entry for the pod's own IP with a MAC that is not the
 * pod's is touched, which is what the kernel itself concludes 8.7 s later.
 * Without `ip`, or where deleting is refused (a runner without CAP_NET_ADMIN),
 * it says so once and probes as before.
 */
export class StaleNeighbours {
  private warned = false;

  constructor(private readonly options: StaleNeighboursOptions) {}

  /** Never throws: a neighbour entry left as it was costs seconds, not correctness. */
  async clear(address: PodAddress): Promise<void> {
    const { mac } = address;
    if (mac === undefined) return;
    let table: string;
    try {
      table = await (this.options.readArpTable ?? readProcArp)();
    } catch {
      return;
    }
    for (const entry of staleEntries(table, address.ip, mac)) {
      try {
        await (this.options.deleteNeighbour ?? ipNeighDel)(entry.ip, entry.device);
        this.options.logger.info(
          `cleared the host's neighbour entry for ${entry.ip} on ${entry.device}: it named ${entry.mac}, an earlier holder of that IP (the pod's is ${mac.toLowerCase()})`,
        );
      } catch (error) {
        if (this.warned) continue;
        this.warned = true;
        this.options.logger.warn(
          `cannot clear the host's stale neighbour entry for ${entry.ip} on ${entry.device} (${describeError(error)}): probes of a pod that reuses an IP can fail for about 9 s; install iproute2, and run the runner as root`,
        );
      }
    }
  }
}

export interface StaleNeighboursOptions {
  logger: Logger;
  /** The text of /proc/net/arp; tests give their own. */
  readArpTable?: () => Promise<string>;
  /** `ip neigh del IP dev DEVICE`; tests give their own. */
  deleteNeighbour?: (ip: string, device: string) => Promise<void>;
}

export interface NeighbourEntry {
  ip: string;
  mac: string;
  device: string;
}

/**
 * Entries of /proc/net/arp (`IP address  HW type  Flags  HW address  Mask
 * Device`) for `ip` that are complete (flag 0x2) and name a MAC other than
 * `mac`. Pure.
 */
export const staleEntries = (table: string, ip: string, mac: string): NeighbourEntry[] =>
  table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([address, , flags, hw, , device]) =>
        address === ip &&
        device !== undefined &&
        hw !== undefined &&
        (Number.parseInt(flags ?? '0', 16) & 0x2) !== 0 &&
        hw.toLowerCase() !== mac.toLowerCase(),
    )
    .map(([address, , , hw, , device]) => ({ ip: address!, mac: hw!.toLowerCase(), device: device! }));

const readProcArp = (): Promise<string> => readFile('/proc/net/arp', 'utf8');

const ipNeighDel = async (ip: string, device: string): Promise<void> => {
  await execa('ip', ['neigh', 'del', ip, 'dev', device], { timeout: 5_000, stdin: 'ignore' });
};
