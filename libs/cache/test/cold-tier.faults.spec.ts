import { usePostgres, useRedis, waitFor } from './harness';
import { CacheFactory } from './cache-factory';

/**
 * PostgreSQL stopped, then frozen (SIGSTOP), for 5 s each under a steady load on a cold cache: no call
 * fails, none waits for the database to come back, and the cold tier is used again once it does.
 */
describe('Cold tier faults (real Redis and PostgreSQL)', () => {
  const redis = useRedis();
  const pg = usePostgres();
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());
  jest.setTimeout(120_000);

  it.each([
    ['stopped', () => pg.process.stop(), () => pg.process.start()],
    ['frozen (SIGSTOP)', () => pg.process.pause(), () => pg.process.resume()],
  ])('serves every call while PostgreSQL is %s for 5 s under load', async (_, down, up) => {
    const { cache } = await apps.create({
      redis: redis.url,
      prefix: `faults${Math.random().toString(36).slice(2, 8)}`,
      postgres: { url: pg.url, statementTimeout: '500ms', connectTimeout: '1s', probeInterval: '200ms' },
      // No L1: every read goes to Redis, and to PostgreSQL on a Redis miss.
      caches: { ocr: { tiers: ['redis', 'postgres'], ttl: '7d' } },
    });
    const ocr = cache.cache('ocr');
    const raw = redis.client();
    const keys = Array.from({ length: 40 }, (_, i) => `doc:${i}`);
    for (const key of keys) await ocr.set(key, `text of ${key}`);

    let failed = 0;
    let calls = 0;
    let phase: 'before' | 'down' | 'after' = 'before';
    let downAt = 0;
    let upAt = 0;
    const lateDuringDown: number[] = [];
    let running = true;
    const worker = async (seed: number) => {
      let i = seed;
      while (running) {
        const key = keys[i++ % keys.length];
        const startedAt = performance.now();
        const startedIn = phase;
        try {
          const op = i % 3;
          if (op === 0) {
            const value = await ocr.getOrSet(key, async () => `text of ${key}`);
            if (value !== `text of ${key}`) failed += 1;
          } else if (op === 1) {
            await ocr.set(key, `text of ${key}`);
          } else {
            // An eviction in Redis: the next read must look in PostgreSQL (or run the factory when it cannot).
            await raw.del(ocr.keyOf(key));
            const value = await ocr.getOrSet(key, async () => `text of ${key}`);
            if (value !== `text of ${key}`) failed += 1;
          }
        } catch {
          failed += 1;
        }
        calls += 1;
        // Calls started early in the outage must not have waited for its end: each waits at most
        // statementTimeout + connectTimeout (1.5 s) before the breaker opens, and the outage lasts 5 s.
        if (startedIn === 'down' && startedAt < downAt + 1500 && upAt !== 0) lateDuringDown.push(startedAt);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i * 5));
    await waitFor(() => calls > 200, { message: 'the load to start' });
    await down();
    downAt = performance.now();
    phase = 'down';
    const callsBefore = calls;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const callsDuring = calls - callsBefore;
    upAt = performance.now();
    await up();
    phase = 'after';
    // Generous: on a loaded machine the replay of what the outage missed can take a few probes.
    await waitFor(() => cache.stats().l3.state === 'closed' && cache.stats().l3.pending === 0, { timeoutMs: 60_000, message: 'the cold tier to be used again' });
    const hitsBefore = cache.stats().l3.hits;
    await waitFor(() => cache.stats().l3.hits > hitsBefore, { message: 'L3 hits again after the outage' });
    running = false;
    await Promise.all(workers);

    expect(failed).toBe(0);
    expect(lateDuringDown).toEqual([]);
    // The load went on during the outage (from Redis and the factory), not just before and after it.
    expect(callsDuring).toBeGreaterThan(100);
    expect(cache.stats().l3.errors).toBeGreaterThan(0);
  });
});
