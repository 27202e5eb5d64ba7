/** What the batch reads of a bus change (`BusChange` in bus.ts, which imports this file). */
export interface KeyChange {
  readonly k?: readonly string[];
  readonly c?: number;
  readonly t?: readonly unknown[];
  readonly p?: readonly unknown[];
  readonly a?: 1;
}

/** The message of a run: keys, and for writes their creation time. */
export interface KeyMessage {
  k: string[];
  c?: number;
}

/** A run of key changes with one creation time ('-': deletes), as one message, and the callers it answers. */
interface Run {
  readonly group: number | '-';
  readonly change: KeyMessage;
  readonly done: Array<(sent: boolean) => void>;
}

/**
 * The key changes (writes and deletes: `k`, and `c` for a write) announced in one tick of the event
 * loop, sent at its end as one message per run of consecutive changes with the same creation time (or
 * all deletes): one log entry and one delivery to every instance instead of one per call, since writes
 * whose replies came back together announce together. Runs keep the order of the calls, and a receiver
 * handles a message of several keys as the messages of each key in that order. Every caller of a run
 * learns whether its message was sent.
 */
export class KeyChangeBatch {
  private runs: Run[] | undefined;

  constructor(private readonly send: (change: KeyMessage) => Promise<boolean>) {}

  /** Queues the change and resolves once its run was sent (or not); undefined when it carries more than keys. */
  add(change: KeyChange): Promise<boolean> | undefined {
    const group = keysOnly(change);
    if (group === undefined) return undefined;
    return new Promise((resolve) => {
      if (this.runs === undefined) {
        this.runs = [];
        process.nextTick(() => this.flush());
      }
      let run = this.runs[this.runs.length - 1];
      if (run === undefined || run.group !== group) this.runs.push((run = { group, change: { k: [], ...(group !== '-' && { c: group }) }, done: [] }));
      for (const key of change.k!) run.change.k.push(key);
      run.done.push(resolve);
    });
  }

  /** Sends what is queued now (before a change of another kind, or on close), in order. */
  flush(): void {
    const runs = this.runs;
    if (runs === undefined) return;
    this.runs = undefined;
    for (const { change, done } of runs) {
      void this.send(change).then((sent) => {
        for (const resolve of done) resolve(sent);
      });
    }
  }
}

/** The run a change joins: its creation time, '-' for a delete; undefined when it carries more than keys. */
function keysOnly(change: KeyChange): number | '-' | undefined {
  if (change.k === undefined || change.k.length === 0 || change.t !== undefined || change.p !== undefined || change.a !== undefined) return undefined;
  if (change.c === undefined) return '-';
  return typeof change.c === 'number' && Number.isFinite(change.c) ? change.c : undefined;
}
