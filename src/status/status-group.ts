import { chown, readFile } from 'node:fs/promises';
import type { Logger } from '../shared/logger.ts';

/** The calls StatusGroup makes, injectable so a test can see them without root or a real group. */
export interface StatusGroupDeps {
  chown?: (file: string, uid: number, gid: number) => Promise<void>;
  /** Contents of /etc/group. */
  readGroups?: () => Promise<string>;
  /** The runner's uid: only root can give a file away. */
  uid?: number;
}

/**
 * Gives the files that operators read (status.json, events.jsonl and its
 * rotated copy) to root:`statusGroup`, so that group can read them (mode
 * 0640). The group is looked up once, on first use; when it does not exist
 * that is said once and the files stay root's. Not root, or no group
 * configured: nothing is changed. Never throws: a failed chown leaves the
 * file readable by root only, which is safe.
 */
export class StatusGroup {
  /** One lookup, shared by the writers that ask at the same time. */
  private gid: Promise<number | undefined> | undefined;

  constructor(
    private readonly group: string | undefined,
    private readonly logger: Logger,
    private readonly deps: StatusGroupDeps = {},
  ) {}

  async apply(file: string): Promise<void> {
    const gid = await (this.gid ??= this.lookUp());
    if (gid === undefined) return;
    await (this.deps.chown ?? chown)(file, 0, gid).catch(() => undefined);
  }

  private async lookUp(): Promise<number | undefined> {
    const group = this.group;
    if (!group || (this.deps.uid ?? process.getuid?.()) !== 0) return undefined;
    const groups = await (this.deps.readGroups ?? (() => readFile('/etc/group', 'utf8')))().catch(() => '');
    const line = groups.split('\n').find((entry) => entry.startsWith(`${group}:`));
    const gid = Number(line?.split(':')[2]);
    if (Number.isInteger(gid)) return gid;
    this.logger.warn(`status group "${group}" does not exist; status.json and events.jsonl stay readable by root only`);
    return undefined;
  }
}
