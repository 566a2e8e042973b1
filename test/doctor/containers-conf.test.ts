import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containersConfFiles, parseContainersConf } from '../../src/doctor/containers-conf.ts';

describe('containersConfFiles', () => {
  const dropIns = (dir: string): string[] => [`${dir}/10-a.conf`];
  it("the vendor file, the admin file and their drop-ins, in podman's order", () => {
    assert.deepEqual(containersConfFiles({}, dropIns), [
      '/usr/share/containers/containers.conf',
      '/usr/share/containers/containers.conf.d/10-a.conf',
      '/etc/containers/containers.conf',
      '/etc/containers/containers.conf.d/10-a.conf',
    ]);
  });
  it('CONTAINERS_CONF alone, then CONTAINERS_CONF_OVERRIDE', () => {
    assert.deepEqual(
      containersConfFiles({ CONTAINERS_CONF: '/t/c.conf', CONTAINERS_CONF_OVERRIDE: '/t/o.conf' }, dropIns),
      ['/t/c.conf', '/t/o.conf'],
    );
  });
});

describe('parseContainersConf', () => {
  it('reads pids_limit and firewall_driver from their sections; later files win; comments and other sections ignored', () => {
    const settings = parseContainersConf([
      {
        file: '/usr/share/containers/containers.conf',
        text: '[containers]\n# pids_limit = 5\npids_limit = 2048\n[network]\nfirewall_driver = "iptables"\n',
      },
      {
        file: '/etc/containers/containers.conf',
        text: '[engine]\npids_limit = 7\n[containers]\npids_limit = 0 # for nspawn\n[network]\nfirewall_driver="nftables"\n',
      },
    ]);
    assert.deepEqual(settings, {
      files: ['/usr/share/containers/containers.conf', '/etc/containers/containers.conf'],
      pidsLimit: 0,
      firewallDriver: 'nftables',
    });
  });
  it('nothing set', () => {
    assert.deepEqual(
      parseContainersConf([{ file: 'x', text: '[containers]\ndefault_ulimits = ["nofile=1024:1024"]\n' }]),
      { files: ['x'] },
    );
  });
});
