import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staleEntries, StaleNeighbours } from '../../src/probes/stale-neighbours.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

const HEADER = 'IP address       HW type     Flags       HW address            Mask     Device\n';
const TABLE =
  HEADER +
  '10.89.0.185      0x1         0x2         76:bc:96:e3:d2:29     *        cni-podman1\n' +
  '10.89.0.173      0x1         0x0         00:00:00:00:00:00     *        cni-podman1\n' +
  '10.88.0.185      0x1         0x2         76:bc:96:e3:d2:29     *        cni-podman0\n' +
  '10.89.0.7        0x1         0x2         c6:a0:00:6c:70:ab     *        cni-podman1\n';

describe('staleEntries: what /proc/net/arp says of a pod IP', () => {
  it('an entry for the IP that names another MAC is stale', () => {
    assert.deepEqual(staleEntries(TABLE, '10.89.0.185', 'c6:a0:00:6c:70:ab'), [
      { ip: '10.89.0.185', mac: '76:bc:96:e3:d2:29', device: 'cni-podman1' },
    ]);
  });

  it("the pod's own MAC (in any case), an incomplete entry, another IP or no entry: nothing", () => {
    assert.deepEqual(staleEntries(TABLE, '10.89.0.7', 'C6:A0:00:6C:70:AB'), []);
    assert.deepEqual(staleEntries(TABLE, '10.89.0.173', 'c6:a0:00:6c:70:ab'), []);
    assert.deepEqual(staleEntries(TABLE, '10.89.0.18', 'c6:a0:00:6c:70:ab'), []);
    assert.deepEqual(staleEntries(HEADER, '10.89.0.185', 'c6:a0:00:6c:70:ab'), []);
    assert.deepEqual(staleEntries('', '10.89.0.185', 'c6:a0:00:6c:70:ab'), []);
  });
});

describe('StaleNeighbours', () => {
  const make = (deleteNeighbour: (ip: string, device: string) => Promise<void>) => {
    const log = memoryLogger();
    const neighbours = new StaleNeighbours({
      logger: log.logger,
      readArpTable: () => Promise.resolve(TABLE),
      deleteNeighbour,
    });
    return { neighbours, log };
  };

  it('deletes the stale entry and says so', async () => {
    const deleted: string[] = [];
    const { neighbours, log } = make((ip, device) => {
      deleted.push(`${ip} ${device}`);
      return Promise.resolve();
    });
    await neighbours.clear({ ip: '10.89.0.185', mac: 'c6:a0:00:6c:70:ab' });
    assert.deepEqual(deleted, ['10.89.0.185 cni-podman1']);
    assert.match(String(log.lines[0]?.msg), /cleared the host's neighbour entry for 10\.89\.0\.185 on cni-podman1/);
  });

  it('a pod address without a MAC is left alone: the entry cannot be judged', async () => {
    const deleted: string[] = [];
    const { neighbours } = make((ip) => {
      deleted.push(ip);
      return Promise.resolve();
    });
    await neighbours.clear({ ip: '10.89.0.185' });
    assert.deepEqual(deleted, []);
  });

  it('a delete that fails (no iproute2, no CAP_NET_ADMIN) warns once and never throws', async () => {
    const { neighbours, log } = make(() => Promise.reject(new Error('spawn ip ENOENT')));
    await neighbours.clear({ ip: '10.89.0.185', mac: 'c6:a0:00:6c:70:ab' });
    await neighbours.clear({ ip: '10.89.0.185', mac: 'c6:a0:00:6c:70:ab' });
    const warnings = log.lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.msg), /spawn ip ENOENT.*install iproute2/);
  });

  it('an unreadable table changes nothing', async () => {
    const log = memoryLogger();
    const neighbours = new StaleNeighbours({
      logger: log.logger,
      readArpTable: () => Promise.reject(new Error('EACCES')),
      deleteNeighbour: () => Promise.reject(new Error('not called')),
    });
    await neighbours.clear({ ip: '10.89.0.185', mac: 'c6:a0:00:6c:70:ab' });
    assert.deepEqual(log.lines, []);
  });
});
