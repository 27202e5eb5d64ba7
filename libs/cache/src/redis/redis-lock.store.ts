import type { LockStep, LockStepOptions, LockStore } from '../ports/lock-store';
import type { RedisClient } from './redis.types';
import { runScript, script } from './redis.script';
import { tickWrites } from './redis.tick-writes';

// Compare-and-delete: only the holder's token releases the lock, never a lock someone else took over.
// ARGV[2], when not empty, is the channel told of the release, with the entry key ARGV[3]: only when a
// waiter left its mark (KEYS[2], see STEP_SCRIPT), so a release nobody waits for reaches no instance.
const RELEASE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[1], KEYS[2]) == 2 and ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1`);
// One step of waiting in one round trip: the entry's bytes (another holder's result?), the lock taken
// if free, and its remaining TTL. KEYS: entry, lock, waiters mark (one slot). ARGV: token, ttl (ms), '1'
// to take the lock only when the entry is missing (then a hit returns the bytes alone: no lock, no PTTL),
// '1' to leave the mark when the lock is held (this instance is told of releases: see `waitersKeyOf`).
// A lock just taken has the whole TTL left: no PTTL either (each call from a script costs Redis ~2 µs).
const STEP_SCRIPT = script(`
local value = redis.call('GET', KEYS[1])
if value and ARGV[3] == '1' then return {value, 0, -3} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {value, 1, tonumber(ARGV[2])} end
local left = redis.call('PTTL', KEYS[2])
if ARGV[4] == '1' and left > 0 then redis.call('SET', KEYS[3], '1', 'PX', left) end
return {value, 0, left}`);

/**
 * The lock of an entry key: `<prefix>:{<entry key>}:lock`. Under the prefix, like every key the cache
 * writes (an ACL user limited to `~<prefix>:*` can take it); the entry key is the hash tag, so on a
 * Cluster the lock lives in the entry's slot and one script can check the lock and write the entry
 * (`RedisStore.setFenced`). Entry keys never contain braces (`segment()` escapes them), so the tag is
 * the whole key.
 */
export function lockKeyOf(key: string): string {
  return besideEntry(key, 'lock');
}

/**
 * Where a lock holder sends a large entry ahead of its fenced write (`RedisStore.setFenced`):
 * `<prefix>:{<entry key>}:stage:<token>`, in the entry's slot, under the prefix, and unique to the holder.
 */
export function stageKeyOf(key: string, token: string): string {
  return besideEntry(key, `stage:${token}`);
}

/**
 * The mark a waiter leaves while an entry's lock is held by another instance:
 * `<prefix>:{<entry key>}:waiters`, living no longer than the lock. The holder's release (its fenced
 * write, or giving up) publishes only when it finds the mark, and removes it: every instance that ever
 * waited is subscribed to the one channel, so a release published unconditionally would reach all of
 * them, for every miss of the whole deployment, though almost none has a waiter.
 */
export function waitersKeyOf(key: string): string {
  return besideEntry(key, 'waiters');
}

/** `<prefix>:{<entry key>}:<what>`: a key of the entry's own, in its Cluster slot (the key is the hash tag). */
function besideEntry(key: string, what: string): string {
  const end = key.indexOf(':');
  return end < 0 ? `{${key}}:${what}` : `${key.slice(0, end)}:{${key}}:${what}`;
}

/**
 * The stampede lock in Redis: `SET <prefix>:{<key>}:lock <token> NX PX ttl`, released by compare-and-delete.
 * With a `releasedChannel`, every release (the holder's fenced write, or giving up) is published there
 * with the entry key, and `waitForRelease` listens on its own subscriber connection, opened at the first
 * wait and kept: waiters in other instances wake when the result is written rather than at their next poll.
 */
export class RedisLockStore implements LockStore {
  private subscriber: RedisClient | undefined;
  private subscribed = false;
  private closed = false;
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Sends this tick's commands in one socket write (see tickWrites). */
  private readonly hold: () => void;

  constructor(
    private readonly client: RedisClient,
    private readonly releasedChannel = '',
  ) {
    this.hold = tickWrites(client);
  }

  get notifying(): boolean {
    return this.subscribed;
  }

  waitForRelease(key: string, ms: number): Promise<void> {
    if (this.releasedChannel !== '' && this.subscriber === undefined && !this.closed) this.listen();
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (set === undefined) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      waiters.add(done);
    });
  }

  /** Stops listening; waiters still waiting wake at their timer. */
  close(): void {
    this.closed = true;
    this.subscribed = false;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private listen(): void {
    const subscriber = this.client.duplicate() as RedisClient;
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // a lost subscription only means polling until it is back
    subscriber.on('end', () => void (this.subscribed = false));
    subscriber.on('ready', () => {
      subscriber.subscribe(this.releasedChannel).then(
        () => void (this.subscribed = !this.closed),
        () => void (this.subscribed = false),
      );
    });
    subscriber.on('message', (_channel: string, key: string) => {
      const waiters = this.waiters.get(key);
      if (waiters !== undefined) for (const wake of [...waiters]) wake();
    });
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    this.hold();
    return (await this.client.set(lockKeyOf(key), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  step(key: string, token: string, ttlMs: number, options?: LockStepOptions): Promise<LockStep> {
    const args = [token, ttlMs, options?.onlyIfMissing === true ? '1' : '0', this.releasedChannel === '' ? '0' : '1'];
    this.hold();
    return runScript(this.client, STEP_SCRIPT, [key, lockKeyOf(key), waitersKeyOf(key)], args, true).then(stepOf);
  }

  async release(key: string, token: string): Promise<boolean> {
    this.hold();
    return Number(await runScript(this.client, RELEASE_SCRIPT, [lockKeyOf(key), waitersKeyOf(key)], [token, this.releasedChannel, key])) === 1;
  }
}

function stepOf(reply: unknown): LockStep {
  const [bytes, taken, remaining] = reply as [Buffer | null, number, number];
  return { bytes: bytes ?? undefined, taken: Number(taken) === 1, remainingMs: Number(remaining) };
}
