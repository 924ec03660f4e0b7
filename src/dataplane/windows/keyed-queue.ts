/**
 * Runs tasks one at a time per key (writes to one HNS network), concurrently across keys. HNS itself
 * serializes badly under concurrent modifies of one network (kube-proxy and flannel both funnel them), so
 * the data plane never has two writes to the same network in flight.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const k = key.toLowerCase();
    const prev = this.tails.get(k) ?? Promise.resolve();
    const next = prev.then(task, task);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(k, settled);
    void settled.then(() => {
      if (this.tails.get(k) === settled) this.tails.delete(k);
    });
    return next;
  }

  get pending(): number {
    return this.tails.size;
  }
}
