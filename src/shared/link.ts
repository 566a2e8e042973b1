/**
 * A call from one component of the daemon to another that is built after
 * it: how the wiring closes a cycle (the reconciler tells the supervisor the
 * desired units, the supervisor asks the reconciler for a pass), as the
 * kubelet passes channels. The caller is built with `send`; the callee is
 * attached once, with `connect`, in the same wiring step, before anything
 * runs. A send before that is a wiring mistake and throws, where the `?.`
 * guards this replaces dropped it unseen.
 */
export class Link<Args extends unknown[] = []> {
  private target: ((...args: Args) => void) | undefined;

  constructor(readonly name: string) {}

  readonly send = (...args: Args): void => {
    if (!this.target) throw new Error(`${this.name}: sent before the daemon's wiring connected it`);
    this.target(...args);
  };

  connect(target: (...args: Args) => void): void {
    if (this.target) throw new Error(`${this.name}: connected twice`);
    this.target = target;
  }
}
