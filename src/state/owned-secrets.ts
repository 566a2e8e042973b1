import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { writeFileAtomic } from './atomic-write.ts';

const fileSchema = v.object({
  version: v.literal(1),
  /** Secret name → the podman ID of the secret a play made; null while a play is making it. */
  secrets: v.record(v.string(), v.nullable(v.string())),
});

/**
 * The podman secrets the runner's own plays created, in
 * `<stateDir>/secrets.json`. Pods are known to be the runner's by their
 * labels; secrets cannot be: `kube play` puts no label on the secret it
 * makes from a manifest's Secret (podman 4.3, measured), and it silently
 * deletes and replaces any secret of the same name. So the runner remembers
 * which ones it made, by ID: a secret someone removed and created again
 * under the same name has a new ID and is not the runner's.
 *
 * A name is claimed (null) before a play and pinned to the ID podman then
 * reports after it, so a runner killed between the two still owns what its
 * play made. The first load of a state directory without this file adopts,
 * the same way, the Secret names of the units already applied (written by a
 * runner that did not keep this file). Only the reconciler writes it.
 */
export class OwnedSecrets {
  private secrets = new Map<string, string | null>();
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'secrets.json');
  }

  /** Loads the file; when there is none, or it cannot be read, the secrets of `applied` units are adopted. Returns the names adopted. */
  async load(applied: readonly { secrets: readonly string[] }[]): Promise<{ adopted: string[] }> {
    try {
      this.secrets = new Map(
        Object.entries(v.parse(fileSchema, JSON.parse(await readFile(this.file, 'utf8'))).secrets),
      );
      return { adopted: [] };
    } catch {
      const adopted = [...new Set(applied.flatMap((unit) => unit.secrets))];
      this.secrets = new Map(adopted.map((name) => [name, null]));
      // Not written yet: a failed write here is the next claim's to report.
      return { adopted };
    }
  }

  /** Whether the secret podman has under `name`, with `id`, is one the runner made. */
  owns(name: string, id: string): boolean {
    const known = this.secrets.get(name);
    return known === null || known === id;
  }

  /** Before a play that (re)creates these secrets. */
  async claim(names: readonly string[]): Promise<void> {
    for (const name of names) this.secrets.set(name, null);
    await this.save();
  }

  /** After that play: the IDs podman now reports for the claimed names (a name podman lacks is forgotten). */
  async pin(names: readonly string[], found: readonly { name: string; id: string }[]): Promise<void> {
    for (const name of names) {
      const id = found.find((secret) => secret.name === name)?.id;
      if (id === undefined) this.secrets.delete(name);
      else this.secrets.set(name, id);
    }
    await this.save();
  }

  private save(): Promise<void> {
    return writeFileAtomic(
      this.file,
      `${JSON.stringify({ version: 1, secrets: Object.fromEntries(this.secrets) }, null, 2)}\n`,
    );
  }
}
