/**
 * One poll shared by every watcher: while anyone is subscribed, `load` runs every `intervalMs`
 * (never two at once) and each subscriber gets the result, or the Error that load threw. With
 * fifty pages open on the dock board the database still sees one query a second, not fifty.
 */
export class PollingFeed<T> {
  private readonly subscribers = new Set<(value: T | Error) => void>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly intervalMs: number,
  ) {}

  get watchers(): number {
    return this.subscribers.size;
  }

  subscribe(fn: (value: T | Error) => void): () => void {
    this.subscribers.add(fn);
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let value: T | Error;
    try {
      value = await this.load();
    } catch (error) {
      value = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.busy = false;
    }
    for (const fn of [...this.subscribers]) {
      try {
        fn(value);
      } catch {
        // One broken watcher (a socket gone) must not starve the others.
      }
    }
  }
}
