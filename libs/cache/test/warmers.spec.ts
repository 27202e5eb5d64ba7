import { Injectable, Scope, type Type } from '@nestjs/common';
import { Registry } from 'prom-client';
import { CacheWarmer, type CacheWarmerOptions, type CacheModuleOptions, StrataError, type WarmEntry, type WarmerOutcome } from '../src';
import { leaseTtl } from '../src/warming/warmer.runner';
import { getFreePort, useRedis, waitFor } from './harness';
import { type CacheApp, CacheFactory, RecordingLogger } from './cache-factory';

/** What a warmer under test did: calls of the method, factory runs per key, runs going at once. */
class Probe {
  calls = 0;
  readonly runs = new Map<string, number>();
  running = 0;
  mostRunning = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  factory(key: string): () => Promise<string> {
    return async () => {
      const n = (this.runs.get(key) ?? 0) + 1;
      this.runs.set(key, n);
      return `${key}#${n}`;
    };
  }

  get factoryRuns(): number {
    return [...this.runs.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Runs after this wait until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async enter(): Promise<void> {
    this.calls += 1;
    this.mostRunning = Math.max(this.mostRunning, ++this.running);
    await this.gate;
  }

  leave(): void {
    this.running -= 1;
  }
}

const KEYS = ['t:1', 't:2', 't:3'];

/** A provider with one warmer over KEYS, reporting to `probe`. */
function warmerClass(probe: Probe, options: CacheWarmerOptions, name = 'Catalog'): Type<unknown> {
  @Injectable()
  class Warmer {
    @CacheWarmer(options)
    async catalog(): Promise<WarmEntry<string>[]> {
      await probe.enter();
      try {
        return KEYS.map((key) => ({ key, factory: probe.factory(key), tags: ['catalog'] }));
      } finally {
        probe.leave();
      }
    }
  }
  Object.defineProperty(Warmer, 'name', { value: name });
  return Warmer;
}

// Checked by tsc: a warmer is called without arguments and returns entries (never provided, never run).
export class NotWarmers {
  // @ts-expect-error a warmer is called without arguments
  @CacheWarmer()
  withArgs(id: string): WarmEntry[] {
    return [{ key: id, value: 1 }];
  }

  // @ts-expect-error a warmer returns entries
  @CacheWarmer()
  wrongResult(): number {
    return 1;
  }
}

describe('@CacheWarmer', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let n = 0;
  const prefix = () => `warmers${++n}`;

  afterEach(async () => {
    jest.useRealTimers();
    await apps.closeAll();
  });

  const runner = (app: CacheApp, name = 'Catalog.catalog') => ({ tick: () => app.inspector.runWarmer(name) });

  describe('at bootstrap', () => {
    it('blocking: the app starts with the entries cached; an instance started later fills its L1 from Redis without running factories', async () => {
      const probe = new Probe();
      const p = prefix();
      const options: CacheModuleOptions = { redis: redis.url, prefix: p };
      const a = await apps.create(options, { providers: [warmerClass(probe, { blocking: true })] });
      // No request yet: the values are there, and no factory runs for them.
      expect(await a.cache.getMany(KEYS)).toEqual(['t:1#1', 't:2#1', 't:3#1']);
      expect(probe.factoryRuns).toBe(3);
      expect(a.cache.stats().warmers).toMatchObject({ runs: 1, errors: 0, warmed: 3, fresh: 0, failed: 0 });
      expect(a.cache.stats().warmers.byWarmer['Catalog.catalog']).toMatchObject({ runs: 1, warmed: 3 });

      const b = await apps.create(options, { providers: [warmerClass(probe, { blocking: true })] });
      expect(probe.factoryRuns).toBe(3); // fresh in Redis: left alone at bootstrap (force defaults to false)
      expect(b.cache.stats().warmers).toMatchObject({ runs: 1, warmed: 0, fresh: 3 });
      expect(KEYS.map((key) => b.cache.peek(key))).toEqual(['t:1#1', 't:2#1', 't:3#1']); // in B's L1
    });

    it('non-blocking (the default): startup does not wait for a slow warmer, which fills the cache in the background', async () => {
      const probe = new Probe();
      probe.hold();
      const app = await apps.create({ redis: redis.url, prefix: prefix() }, { providers: [warmerClass(probe, {})] });
      // Started, still held, and the app is up.
      expect(probe.calls).toBe(1);
      expect(probe.running).toBe(1);
      expect(app.cache.stats().warmers.runs).toBe(0);
      expect(await app.cache.get('t:1')).toBeUndefined();
      probe.release();
      await waitFor(() => app.cache.stats().warmers.runs === 1, { message: 'the bootstrap run to end' });
      expect(await app.cache.getMany(KEYS)).toEqual(['t:1#1', 't:2#1', 't:3#1']);
    });

    it('an async iterable is warmed a few entries at a time, never all in memory', async () => {
      let pulled = 0;
      let settled = 0;
      let mostOutstanding = 0;
      @Injectable()
      class Big {
        @CacheWarmer({ blocking: true, concurrency: 4, name: 'big' })
        async *everything(): AsyncGenerator<WarmEntry<number>> {
          for (let i = 0; i < 2000; i++) {
            pulled += 1;
            mostOutstanding = Math.max(mostOutstanding, pulled - settled);
            yield {
              key: `n:${i}`,
              factory: async () => {
                await new Promise((resolve) => setImmediate(resolve));
                settled += 1;
                return i;
              },
            };
          }
        }
      }
      const app = await apps.create({ prefix: prefix(), caches: { big: { ttl: '1h' } } }, { providers: [Big] });
      expect(app.cache.stats().warmers.byWarmer['Big.everything']).toMatchObject({ runs: 1, warmed: 2000, failed: 0 });
      expect(await app.cache.cache('big').get('n:1999')).toBe(1999);
      expect(await app.cache.get('n:1999')).toBeUndefined(); // in the named cache only
      // The 4 in flight, and the one the generator is producing.
      expect(mostOutstanding).toBeLessThanOrEqual(5);
    });
  });

  describe('on an interval', () => {
    // Only setInterval is faked: Redis clients, waitFor and the cache's own timeouts run in real time.
    const fakeIntervals = () =>
      jest.useFakeTimers({
        doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'],
      });

    it('runs every interval, refreshing fresh keys, and never runs twice at once (a tick during a run is skipped and counted)', async () => {
      fakeIntervals();
      const probe = new Probe();
      const app = await apps.create({ prefix: prefix(), ttl: '1h' }, { providers: [warmerClass(probe, { onBootstrap: false, every: '1m' })] });
      const outcomes: WarmerOutcome[] = [];
      app.cache.events.on('warmer', ({ outcome }) => outcomes.push(outcome));
      expect(probe.calls).toBe(0); // no bootstrap run

      jest.advanceTimersByTime(60_000);
      await waitFor(() => app.cache.stats().warmers.runs === 1, { message: 'the first interval run' });
      expect(await app.cache.get('t:1')).toBe('t:1#1');

      probe.hold();
      jest.advanceTimersByTime(60_000); // run 2 starts and is held
      await waitFor(() => probe.running === 1, { message: 'run 2 to start' });
      jest.advanceTimersByTime(120_000); // two ticks while it runs
      expect(app.cache.stats().warmers.skipped).toEqual({ busy: 2, elsewhere: 0 });
      expect(probe.calls).toBe(2);
      probe.release();
      await waitFor(() => app.cache.stats().warmers.runs === 2, { message: 'run 2 to end' });

      jest.advanceTimersByTime(60_000);
      await waitFor(() => app.cache.stats().warmers.runs === 3, { message: 'run 3' });
      expect(probe.mostRunning).toBe(1);
      // Interval runs refresh keys that were still fresh (1h ttl): that is what they are for.
      expect(await app.cache.get('t:1')).toBe('t:1#3');
      expect(outcomes).toEqual(['ok', 'skipped_busy', 'skipped_busy', 'ok', 'ok']);
    });

    it('a run longer than its lease keeps it alive: no other instance starts the next run beside it', async () => {
      fakeIntervals();
      const probe = new Probe();
      probe.hold();
      const p = prefix();
      const warmer = warmerClass(probe, { onBootstrap: false, every: '10s' });
      const a = await apps.create({ redis: redis.url, prefix: p }, { providers: [warmer] });
      const b = await apps.create({ redis: redis.url, prefix: p }, { providers: [warmer] });
      const admin = redis.client();
      const lease = `${p}:__warmer:Catalog.catalog`;
      const running = runner(a).tick(); // takes the lease (9 s), then waits in the warmer
      await waitFor(() => probe.running === 1, { message: 'the run to start' });
      // As if most of the lease had gone by (Redis keeps real time): 1 s left.
      await admin.pexpire(lease, 1000);
      jest.advanceTimersByTime(3000); // a third of the lease: the holder extends it
      await waitFor(async () => (await admin.pttl(lease)) > 1000, { message: 'the holder to extend its lease' });
      expect(await runner(b).tick()).toBe('skipped_elsewhere');
      probe.release();
      expect(await running).toBe('ok');
      expect(probe.mostRunning).toBe(1);
      expect(await admin.get(lease)).toBe(a.inspector.instanceId);
    });

    it('shutdown stops the interval: no timer is left and the warmer never runs again', async () => {
      fakeIntervals();
      const probe = new Probe();
      const app = await apps.create({ prefix: prefix() }, { providers: [warmerClass(probe, { blocking: true, every: '10s' })] });
      expect(probe.calls).toBe(1);
      expect(jest.getTimerCount()).toBeGreaterThanOrEqual(1);
      await apps.closeAll();
      expect(jest.getTimerCount()).toBe(0);
      jest.advanceTimersByTime(60_000);
      expect(probe.calls).toBe(1);
      expect(app.cache.stats().warmers.skipped.busy).toBe(0);
    });
  });

  describe('on several instances sharing Redis (exclusive, the default)', () => {
    it('one run per interval across the instances: the first tick takes the interval, the others skip it', async () => {
      const probe = new Probe();
      const p = prefix();
      const options: CacheModuleOptions = { redis: redis.url, prefix: p };
      // A long interval: the test ticks by hand; the lease of an interval is what it checks.
      const warmer = warmerClass(probe, { onBootstrap: false, every: '1h' });
      const a = await apps.create(options, { providers: [warmer] });
      const b = await apps.create(options, { providers: [warmer] });
      const admin = redis.client();

      expect(await runner(a).tick()).toBe('ok');
      expect(await runner(b).tick()).toBe('skipped_elsewhere');
      expect(await runner(a).tick()).toBe('skipped_elsewhere'); // one run per interval, even on the instance that ran it
      const lease = `${p}:__warmer:Catalog.catalog`;
      const ttl = await admin.pttl(lease);
      expect(ttl).toBeGreaterThan(leaseTtl(3_600_000) - 5_000);
      expect(ttl).toBeLessThanOrEqual(leaseTtl(3_600_000));
      expect(leaseTtl(3_600_000)).toBe(3_599_000); // a second short of the interval, for timer drift

      await admin.del(lease); // the next interval
      expect(await runner(b).tick()).toBe('ok');
      expect(await runner(a).tick()).toBe('skipped_elsewhere');
      expect(probe.calls).toBe(2);
      expect(b.cache.stats().warmers.skipped.elsewhere + a.cache.stats().warmers.skipped.elsewhere).toBe(3);
      // B's forced run refreshed what A wrote, and A dropped its L1 copy (the bus).
      await waitFor(async () => (await a.cache.get('t:1')) === 't:1#2', { message: "A to see B's refresh" });
    });

    it('in real time, two instances on a 300 ms interval run it about once per interval between them, never at once', async () => {
      const probe = new Probe();
      const options: CacheModuleOptions = { redis: redis.url, prefix: prefix() };
      const warmer = warmerClass(probe, { onBootstrap: false, every: 300 });
      const started = Date.now();
      const a = await apps.create(options, { providers: [warmer] });
      const b = await apps.create(options, { providers: [warmer] });
      const runs = () => a.cache.stats().warmers.runs + b.cache.stats().warmers.runs;
      await waitFor(() => runs() >= 5, { timeoutMs: 30_000, message: 'five runs between the two instances' });
      const total = runs();
      const elapsed = Date.now() - started;
      // Runs are at least a lease apart (Redis enforces it), however late the timers fire under load.
      expect(total).toBeLessThanOrEqual(Math.floor(elapsed / leaseTtl(300)) + 1);
      expect(a.cache.stats().warmers.skipped.elsewhere + b.cache.stats().warmers.skipped.elsewhere).toBeGreaterThanOrEqual(1);
      expect(probe.mostRunning).toBe(1);
    });

    it('with exclusive: false, every instance runs every interval', async () => {
      const probe = new Probe();
      const options: CacheModuleOptions = { redis: redis.url, prefix: prefix() };
      const warmer = warmerClass(probe, { onBootstrap: false, every: '1h', exclusive: false });
      const a = await apps.create(options, { providers: [warmer] });
      const b = await apps.create(options, { providers: [warmer] });
      expect(await runner(a).tick()).toBe('ok');
      expect(await runner(b).tick()).toBe('ok');
    });

    it('when Redis cannot be reached, each instance runs the interval itself, and says so once', async () => {
      const probe = new Probe();
      const logger = new RecordingLogger();
      const port = await getFreePort();
      const app = await apps.create(
        { redis: `redis://127.0.0.1:${port}`, prefix: prefix(), connectTimeout: 100, commandTimeout: 100, logger },
        { providers: [warmerClass(probe, { onBootstrap: false, every: '1h' })] },
      );
      expect(await runner(app).tick()).toBe('ok');
      expect(await runner(app).tick()).toBe('ok');
      expect(await app.cache.get('t:1')).toBe('t:1#2'); // in L1
      expect(logger.count(/@CacheWarmer Catalog\.catalog: Redis did not answer, so this instance runs the interval's run itself/)).toBe(1);
    });
  });

  describe('failures', () => {
    it('a warmer that throws, or whose entries fail, is logged once a run with Class.method, counted, and the app runs on', async () => {
      const logger = new RecordingLogger();
      const registry = new Registry();
      @Injectable()
      class Flaky {
        @CacheWarmer({ blocking: true })
        broken(): WarmEntry[] {
          throw new Error('catalog database down');
        }

        @CacheWarmer({ blocking: true })
        partly(): WarmEntry[] {
          return [
            { key: 'ok', value: 1 },
            { key: 'bad', factory: () => Promise.reject(new Error('upstream 503')) },
            { key: 'worse', factory: () => Promise.reject(new Error('upstream 504')) },
          ];
        }

        @CacheWarmer({ blocking: true })
        async *midway(): AsyncGenerator<WarmEntry> {
          yield { key: 'm:1', value: 1 };
          yield { key: 'm:2', value: 2 };
          throw new Error('cursor lost');
        }

        @CacheWarmer({ blocking: true })
        notEntries(): WarmEntry[] {
          return 42 as unknown as WarmEntry[];
        }
      }
      const app = await apps.create({ prefix: prefix(), logger, metrics: { registry } }, { providers: [Flaky] });
      expect(logger.count(/@CacheWarmer Flaky\.broken failed after 0 entries: catalog database down/)).toBe(1);
      expect(logger.count(/@CacheWarmer Flaky\.partly: 2 of 3 entries failed \(first: 'bad': upstream 503\)/)).toBe(1);
      expect(logger.count(/@CacheWarmer Flaky\.midway failed after 2 entries: cursor lost/)).toBe(1);
      expect(logger.count(/@CacheWarmer Flaky\.notEntries failed after 0 entries: Strata cache: the warmer returned number, not WarmEntry\[\]/)).toBe(1);
      const { warmers } = app.cache.stats();
      expect(warmers).toMatchObject({ runs: 4, errors: 3, warmed: 3, failed: 2 });
      expect(warmers.byWarmer['Flaky.midway']).toMatchObject({ runs: 1, errors: 1, warmed: 2 });
      expect(await app.cache.getMany(['ok', 'm:2', 'bad'])).toEqual([1, 2, undefined]);
      expect(await app.cache.getOrSet('after', async () => 'the app works')).toBe('the app works');

      const metrics = await registry.metrics();
      expect(metrics).toContain('strata_cache_warmer_runs_total{warmer="Flaky.broken",outcome="error"} 1');
      expect(metrics).toContain('strata_cache_warmer_runs_total{warmer="Flaky.partly",outcome="partial"} 1');
      expect(metrics).toContain('strata_cache_warmer_entries_total{warmer="Flaky.partly",result="failed"} 2');
    });

    it('a request-scoped provider is skipped with a warning', async () => {
      const logger = new RecordingLogger();
      const probe = new Probe();
      @Injectable({ scope: Scope.REQUEST })
      class PerRequest {
        @CacheWarmer()
        catalog(): WarmEntry[] {
          probe.calls += 1;
          return [];
        }
      }
      const app = await apps.create({ prefix: prefix(), logger }, { providers: [PerRequest] });
      expect(logger.count(/PerRequest\.catalog is a @CacheWarmer but PerRequest is request-scoped .* it never runs; make it a singleton/)).toBe(1);
      expect(probe.calls).toBe(0);
      expect(app.cache.stats().warmers.byWarmer).toEqual({});
    });

    it.each<[string, CacheWarmerOptions, RegExp]>([
      ['a bad interval', { every: 'soon' as never }, /@CacheWarmer on Catalog\.catalog: every must be a positive duration, e\.g\. 60_000 or '1m'/],
      ['an interval past what a timer can hold', { every: '30d' }, /@CacheWarmer on Catalog\.catalog: every must be at most 2147483647 ms/],
      ['a warmer that never runs', { onBootstrap: false }, /Catalog\.catalog: never runs: onBootstrap is false and there is no interval; set every/],
      ['blocking without a bootstrap run', { onBootstrap: false, every: '1m', blocking: true }, /Catalog\.catalog: blocking makes startup wait for the bootstrap run, but onBootstrap is false; drop blocking/],
      ['exclusive without an interval', { exclusive: true }, /Catalog\.catalog: exclusive applies to interval runs .* set every, or drop exclusive/],
      ['a concurrency of 0', { concurrency: 0 }, /Catalog\.catalog: concurrency must be a whole number of at least 1/],
      ['an unknown cache', { name: 'nope' }, /@CacheWarmer on Catalog\.catalog: unknown cache 'nope': declare it in CacheModule\.forRoot/],
      ['an unknown option', { cache: 'reports' } as never, /Catalog\.catalog: unknown option 'cache'; it takes onBootstrap, every, name, concurrency, force, blocking, exclusive/],
      ['a flag that is not a boolean', { force: 'yes' } as never, /Catalog\.catalog: force must be true or false; got "yes"/],
    ])('rejects %s at startup, naming Class.method and the fix', async (_label, options, message) => {
      const probe = new Probe();
      const failure = await apps.create({ prefix: prefix() }, { providers: [warmerClass(probe, options)] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StrataError);
      expect((failure as StrataError).code).toBe('E_INVALID_DECORATOR');
      expect((failure as Error).message).toMatch(message);
      expect(probe.calls).toBe(0);
    });

    it('two classes of one name with warmers of one name fail startup (warmers are known by Class.method)', async () => {
      const probe = new Probe();
      const failure = apps.create({ prefix: prefix() }, { providers: [warmerClass(probe, {}), { provide: 'other', useClass: warmerClass(probe, {}) }] });
      await expect(failure).rejects.toThrow(/another class is also named Catalog with a warmer Catalog\.catalog; .* rename one/);
    });
  });
});
