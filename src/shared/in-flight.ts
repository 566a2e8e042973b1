/**
 * Work in flight, by key (a unit, a container), and whether work on a key
 * finished after a given moment: the one tracker of the reconciler's units
 * and the supervisor's containers, as the kubelet's pod workers track one
 * worker per pod.
 *
 * A list of podman's state is a photograph: on a busy host `podman pod ps`
 * can take seconds, and a replace may finish while it runs. Acting on that
 * list would undo the replace: it shows the old pod, gutted, or no pod at
 * all, and planning from it replaces or re-creates a pod that is already
 * right (a second play then fails on the name, and its clean-up removes the
 * good pod). So whoever lists takes a `mark()` first, and treats a key as
 * busy if work on it finished after that mark; the next pass, with a fresh
 * list, decides.
 *
 * Contract: one piece of work per key at a time is the caller's to keep
 * (check `has`, or wait with `idle`); `settled` waits for every piece,
 * whatever its outcome, and is what a drain awaits.
 */
export class InFlight<Label = undefined> {
  private readonly active = new Set<string>();
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly labelOf = new Map<string, Label>();
  /** Counts finished work; a mark is a value of it. */
  private finished = 0;
  /** The value of `finished` when each key's last work ended. */
  private readonly lastFinished = new Map<string, number>();

  /**
   * Runs `work` under `key`: the key is busy from now until it settles.
   * `onEnd` runs once the key is free again (so a pass it asks for sees it
   * idle), before the returned promise settles; it settles as `work` does.
   */
  run(key: string, work: () => Promise<void>, options: { label?: Label; onEnd?: () => void } = {}): Promise<void> {
    this.begin(key, options.label);
    const job = work().finally(() => {
      this.end(key);
      options.onEnd?.();
    });
    this.jobs.set(key, job);
    return job;
  }

  /** Marks a key busy without a promise to wait for (work tracked elsewhere; tests). */
  begin(key: string, label?: Label): void {
    this.active.add(key);
    if (label !== undefined) this.labelOf.set(key, label);
  }

  end(key: string): void {
    this.active.delete(key);
    this.jobs.delete(key);
    this.labelOf.delete(key);
    this.finished += 1;
    this.lastFinished.set(key, this.finished);
  }

  has(key: string): boolean {
    return this.active.has(key);
  }

  get size(): number {
    return this.active.size;
  }

  /** What runs, by key, with the label it was given (the reconciler's action types, for status). */
  get labels(): ReadonlyMap<string, Label> {
    return this.labelOf;
  }

  /** Resolves once no work `run` started runs for `key` (rejects as it does). */
  async idle(key: string): Promise<void> {
    while (this.jobs.has(key)) await this.jobs.get(key);
  }

  /** Resolves when every piece of work `run` started has finished (or failed), those started meanwhile included. */
  async settled(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs.values()]);
  }

  /** Take this before listing podman's state, and pass it to `isBusy` when acting on the list. */
  mark(): number {
    return this.finished;
  }

  /** True while work on the key runs, or when some ended after `mark` (the list is stale for that key). */
  isBusy(key: string, mark: number): boolean {
    return this.active.has(key) || (this.lastFinished.get(key) ?? 0) > mark;
  }

  /** Forgets keys outside `keep` whose last work ended at or before `mark`: no list taken since can be stale for them. */
  forget(keep: ReadonlySet<string>, mark: number): void {
    for (const [key, at] of this.lastFinished) if (!keep.has(key) && at <= mark) this.lastFinished.delete(key);
  }
}
