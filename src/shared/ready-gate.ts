/**
 * When the runner is ready, for systemd's READY=1 (Type=notify): once the
 * manifests have been read and podman has been listed, so `systemctl start`
 * returns when the runner knows both what should run and what does. A
 * listing that failed counts too: the runner is up and retries, and holding
 * READY back would only have systemd kill it at TimeoutStartSec. Calls in
 * any order and any number of times; `onReady` runs once.
 */
export class ReadyGate {
  private manifests = false;
  private listed = false;
  private done = false;

  constructor(private readonly onReady: () => void) {}

  manifestsRead(): void {
    this.manifests = true;
    this.check();
  }

  /** A listing of podman's pods has finished, whether it succeeded or failed. */
  podmanListed(): void {
    this.listed = true;
    this.check();
  }

  get isReady(): boolean {
    return this.done;
  }

  private check(): void {
    if (this.done || !this.manifests || !this.listed) return;
    this.done = true;
    this.onReady();
  }
}
