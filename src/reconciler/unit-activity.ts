/**
 * Which units the reconciler is working on, and whether it finished work on
 * one after a given moment.
 *
 * A list of podman's state is a photograph: on a busy host `podman pod ps`
 * can take seconds, and a replace may finish while it runs. Acting on that
 * list would undo the replace: it shows the old pod, gutted, or no pod at
 * all, and planning from it replaces or re-creates a pod that is already
 * right (a second play then fails on the name, and its clean-up removes the
 * good pod). So whoever lists takes a `mark()` first, and treats a unit as
 * busy if work on it finished after that mark; the next pass, with a fresh
 * list, decides.
 */
export class UnitActivity {
  private readonly active = new Set<string>();
  /** Counts finished actions; a mark is a value of it. */
  private finished = 0;
  /** The value of `finished` when each unit's last action ended. */
  private readonly lastFinished = new Map<string, number>();

  begin(key: string): void {
    this.active.add(key);
  }

  end(key: string): void {
    this.active.delete(key);
    this.finished += 1;
    this.lastFinished.set(key, this.finished);
  }

  /** Take this before listing podman's state, and pass it to `isBusy` when acting on the list. */
  mark(): number {
    return this.finished;
  }

  /** True while an action for the unit runs, or when one ended after `mark` (the list is stale for that unit). */
  isBusy(key: string, mark: number): boolean {
    return this.active.has(key) || (this.lastFinished.get(key) ?? 0) > mark;
  }

  /** Forgets units outside `keep` whose last action ended at or before `mark`: no list taken since can be stale for them. */
  forget(keep: ReadonlySet<string>, mark: number): void {
    for (const [key, at] of this.lastFinished) if (!keep.has(key) && at <= mark) this.lastFinished.delete(key);
  }
}
