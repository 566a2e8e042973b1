import type { ContainersConfSettings } from './host-snapshot.ts';

/**
 * The containers.conf files podman reads, in its order (containers/common
 * pkg/config): CONTAINERS_CONF alone when set, else the vendor file, the
 * admin's file and the drop-in directories; CONTAINERS_CONF_OVERRIDE last.
 * `dropIns` lists the `*.conf` files of a directory, sorted.
 */
export const containersConfFiles = (env: NodeJS.ProcessEnv, dropIns: (dir: string) => string[]): string[] => {
  const base = env.CONTAINERS_CONF
    ? [env.CONTAINERS_CONF]
    : [
        '/usr/share/containers/containers.conf',
        ...dropIns('/usr/share/containers/containers.conf.d'),
        '/etc/containers/containers.conf',
        ...dropIns('/etc/containers/containers.conf.d'),
      ];
  return [...base, ...(env.CONTAINERS_CONF_OVERRIDE ? [env.CONTAINERS_CONF_OVERRIDE] : [])];
};

/**
 * The two settings the checks need, from the TOML of each file that could
 * be read, later files winning. A line reader, not a TOML parser: both keys
 * are plain scalars in their sections.
 */
export const parseContainersConf = (files: readonly { file: string; text: string }[]): ContainersConfSettings => {
  const settings: ContainersConfSettings = { files: files.map((item) => item.file) };
  for (const { text } of files) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      const header = /^\[([^\]]+)\]$/.exec(line);
      if (header) {
        section = header[1]!.trim();
        continue;
      }
      const pair = /^([A-Za-z_]+)\s*=\s*(.+)$/.exec(line);
      if (!pair) continue;
      const [, key, value] = pair as unknown as [string, string, string];
      if (section === 'containers' && key === 'pids_limit' && /^-?\d+$/.test(value)) settings.pidsLimit = Number(value);
      if (section === 'network' && key === 'firewall_driver')
        settings.firewallDriver = value.replace(/^["']|["']$/g, '');
    }
  }
  return settings;
};
