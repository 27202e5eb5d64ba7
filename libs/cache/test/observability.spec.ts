import { Registry } from 'prom-client';
import { type Span, type SpanOptions, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { useRedis, waitFor } from './harness';
import { CacheHealthIndicator, CacheEvents, CacheTelemetry, type CacheEventMap } from '../src';
import { L1_SAMPLE_EVERY } from '../src/engine/entry-reader';
import { CacheFactory, RecordingLogger } from './cache-factory';

/** Prometheus text → { 'name{labels}': value }, for exact assertions. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

describe('observability', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let n = 0;
  const prefix = () => `o${++n}`;
  afterEach(async () => {
    await apps.closeAll();
    if (!redis.process.isRunning()) await redis.process.restart();
  });

  describe('counters per cache name', () => {
    it('counts each named cache apart, and the totals over them', async () => {
      const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), caches: { ai: { ttl: '1h' } }, metrics: false, lock: false }); // the lock's extra look would add an L2 get per miss
      const ai = cache.cache('ai');
      await ai.getOrSet('q', () => 'answer');
      await ai.get('q');
      await ai.get('absent');
      await cache.get('nothing');
      const stats = cache.stats();
      expect(stats.caches.ai).toMatchObject({ hits: 1, misses: 2, sets: 1, factory: { runs: 1, errors: 0 } });
      expect(stats.caches.ai.l1).toMatchObject({ hits: 1 });
      expect(stats.caches.default).toMatchObject({ hits: 0, misses: 1, sets: 0 });
      expect(stats).toMatchObject({ hits: 1, misses: 3 });
      expect(stats.caches.ai.latency.l2.set.count).toBe(1);
      expect(stats.caches.ai.latency.l2.get.count).toBe(2); // getOrSet's miss and get('absent')
      expect(stats.caches.ai.latency.factory.count).toBe(1);
    });

    it('times one L1 lookup in L1_SAMPLE_EVERY', async () => {
      const { cache } = await apps.create({ prefix: prefix(), metrics: false });
      await cache.set('k', 1);
      for (let i = 0; i < L1_SAMPLE_EVERY * 10; i++) await cache.get('k');
      const timed = cache.stats().latency.l1.get;
      expect(timed.count).toBe(10);
      expect(timed.p50Ms).toBeGreaterThan(0);
    });

    it('attributes Redis errors and corrupt entries to the cache whose key failed', async () => {
      const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), caches: { ai: {} }, metrics: false, commandTimeout: 100 });
      const ai = cache.cache('ai').forTenant('acme');
      await redis.client().set(ai.keyOf('bad'), Buffer.from([0xff, 1, 2]));
      expect(await ai.get('bad')).toBeUndefined();
      expect(cache.stats().caches.ai.corrupt).toBe(1);
      expect(cache.stats().caches.default.corrupt).toBe(0);
      await redis.process.kill();
      await ai.get('other');
      expect(cache.stats().caches.ai.l2.errors).toBeGreaterThan(0);
      expect(cache.stats().caches.default.l2.errors).toBe(0);
    });

    it('counts values compressed on their way to Redis', async () => {
      const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), metrics: false });
      await cache.set('small', 'x');
      await cache.set('big', 'the same sentence again. '.repeat(200));
      const { compression } = cache.stats();
      expect(compression.values).toBe(1);
      expect(compression.bytesIn).toBeGreaterThan(5000);
      expect(compression.bytesOut).toBeLessThan(compression.bytesIn / 10);
    });
  });

  describe('events', () => {
    it('emits hit, miss, set, delete and invalidate with the cache name, and stops after off()', async () => {
      const { app, cache } = await apps.create({ prefix: prefix(), caches: { ai: {} }, metrics: false });
      const seen: Array<[string, unknown]> = [];
      const events = app.get(CacheEvents);
      expect(cache.events).toBe(events);
      const names: Array<keyof CacheEventMap> = ['hit', 'miss', 'set', 'delete', 'invalidate'];
      const offs = names.map((name) => events.on(name, (payload) => seen.push([name, payload])));
      const ai = cache.cache('ai');
      await ai.get('k');
      await ai.set('k', 1, { tags: ['t'] });
      await ai.get('k');
      await ai.delete('k');
      await ai.invalidateTags(['t']);
      expect(seen.map(([name]) => name)).toEqual(['miss', 'set', 'hit', 'delete', 'invalidate']);
      expect(seen[2][1]).toEqual({ cache: 'ai', key: ai.keyOf('k'), tier: 'l1' });
      expect(seen[1][1]).toMatchObject({ cache: 'ai', key: ai.keyOf('k'), tags: [expect.stringContaining('t')] });
      for (const off of offs) off();
      expect(events.listening).toBe(0);
      await ai.get('k');
      expect(seen).toHaveLength(5);
    });

    it('a listener that throws does not break the call, and is logged once', async () => {
      const logger = new RecordingLogger();
      const { cache } = await apps.create({ prefix: prefix(), logger, metrics: false });
      cache.events.on('miss', () => {
        throw new Error('listener bug');
      });
      expect(await cache.getOrSet('a', () => 1)).toBe(1);
      expect(await cache.getOrSet('b', () => 2)).toBe(2);
      expect(logger.count(/'miss' event listener threw \(listener bug\)/)).toBe(1);
    });

    it('emits circuit-open when Redis goes away and circuit-close when it is back', async () => {
      const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), metrics: false, probeInterval: 100 });
      const states: string[] = [];
      cache.events.on('circuit-open', () => states.push('open'));
      cache.events.on('circuit-close', () => states.push('close'));
      const errors: Array<CacheEventMap['error']> = [];
      cache.events.on('error', (e) => errors.push(e));
      await redis.process.kill();
      await waitFor(() => states.includes('open'), { timeoutMs: 30_000, message: 'circuit never opened' });
      await cache.get('x');
      expect(errors.some((e) => e.tier === 'l2' && e.cache === 'default')).toBe(true);
      await redis.process.restart();
      await waitFor(() => states.includes('close'), { timeoutMs: 30_000, message: 'circuit never closed' });
      expect(states).toEqual(['open', 'close']);
    });
  });

  describe('Prometheus', () => {
    it('publishes counters by cache and tier, gauges and histograms, read at scrape time', async () => {
      const registry = new Registry();
      const { app, cache } = await apps.create({ redis: redis.url, prefix: prefix(), caches: { ai: {} }, metrics: { registry }, lock: false });
      const ai = cache.cache('ai');
      await ai.getOrSet('a', () => 'A');
      await ai.get('a');
      await ai.invalidateTags(['t']);
      app.get(CacheTelemetry).recordSavings('ai', { tokens: 120, cost: 0.5 });
      app.get(CacheTelemetry).recordSemanticHit('ai', 0.93);
      const m = parse(await registry.metrics());
      expect(m.get('strata_cache_hits_total{cache="ai",tier="l1"}')).toBe(1);
      expect(m.get('strata_cache_misses_total{cache="ai"}')).toBe(1);
      expect(m.get('strata_cache_tier_misses_total{cache="ai",tier="l2"}')).toBe(1);
      expect(m.get('strata_cache_invalidations_total{cache="ai"}')).toBe(1);
      expect(m.get('strata_cache_sets_total{cache="ai"}')).toBe(1);
      expect(m.get('strata_cache_tokens_saved_total{cache="ai"}')).toBe(120);
      expect(m.get('strata_cache_cost_saved_total{cache="ai"}')).toBe(0.5);
      expect(m.get('strata_cache_semantic_hits_total{cache="ai"}')).toBe(1);
      expect(m.get('strata_cache_semantic_similarity_bucket{cache="ai",le="0.92"}')).toBe(0);
      expect(m.get('strata_cache_semantic_similarity_bucket{cache="ai",le="0.94"}')).toBe(1);
      expect(m.get('strata_cache_l1_entries')).toBe(1);
      expect(m.get('strata_cache_l1_bytes')).toBeGreaterThan(0);
      expect(m.get('strata_cache_circuit_state{state="closed"}')).toBe(1);
      expect(m.get('strata_cache_circuit_state{state="open"}')).toBe(0);
      expect(m.get('strata_cache_operation_duration_seconds_count{cache="ai",operation="get",tier="l2"}')).toBe(1);
      expect(m.get('strata_cache_operation_duration_seconds_bucket{cache="ai",operation="set",tier="l2",le="+Inf"}')).toBe(1);
      expect(m.get('strata_cache_factory_duration_seconds_count{cache="ai"}')).toBe(1);
      expect(m.get('strata_cache_operation_duration_seconds_count{cache="ai",operation="invalidate",tier="l2"}')).toBe(1);
    });

    it('sums the stacks that share a registry, and removes its metrics when the last one closes', async () => {
      const registry = new Registry();
      const one = await apps.create({ prefix: prefix(), metrics: { registry, prefix: 'app_cache_' } });
      const two = await apps.create({ prefix: prefix(), metrics: { registry, prefix: 'app_cache_' } });
      await one.cache.get('x');
      await two.cache.get('x');
      expect(parse(await registry.metrics()).get('app_cache_misses_total{cache="default"}')).toBe(2);
      await one.app.close();
      expect(parse(await registry.metrics()).get('app_cache_misses_total{cache="default"}')).toBe(1);
      await two.app.close();
      expect(registry.getSingleMetric('app_cache_misses_total')).toBeUndefined();
    });

    it('refuses a registry whose metric names clash, and metrics: false registers nothing', async () => {
      const registry = new Registry();
      registry.registerMetric(new (await import('prom-client')).Counter({ name: 'strata_cache_hits_total', help: 'someone else', registers: [] }));
      await expect(apps.create({ prefix: prefix(), metrics: { registry } })).rejects.toThrow(/already registered by something else.*metrics: \{ prefix/);
      const empty = new Registry();
      await apps.create({ prefix: prefix(), metrics: false });
      expect(empty.getMetricsAsArray()).toHaveLength(0);
      await expect(apps.create({ metrics: { registry: {} as Registry } })).rejects.toThrow(/metrics.registry must be a prom-client Registry/);
    });
  });

  describe('advice', () => {
    it('flags a low hit rate, an L1 near capacity and a high eviction rate, with the thresholds', async () => {
      const logger = new RecordingLogger();
      const { inspector, cache } = await apps.create({
        prefix: prefix(), logger, metrics: false, memory: { maxEntries: 10 },
        advice: { interval: false, minLookups: 20, hitRate: 0.5, l1Fill: 0.8, evictionRate: 0.1 },
      });
      for (let i = 0; i < 30; i++) await cache.getOrSet(`k${i}`, () => i);
      const advice = cache.stats().advice;
      expect(advice.map((a) => a.code).sort()).toEqual(['high-eviction-rate', 'l1-near-capacity', 'low-hit-rate']);
      const low = advice.find((a) => a.code === 'low-hit-rate');
      expect(low).toMatchObject({ cache: 'default', value: 0, threshold: 0.5, option: 'advice.hitRate' });
      expect(advice.find((a) => a.code === 'high-eviction-rate')).toMatchObject({ value: 20 / 30, threshold: 0.1 });
      // The log line: once per condition while it lasts, again after it cleared and came back.
      inspector.adviseNow();
      expect(logger.count(/Cache advice: cache 'default': hit rate 0\.0% over 30 lookups is below 50\.0% \(advice\.hitRate\)/)).toBe(1);
      for (let i = 0; i < 30; i++) await cache.getOrSet(`k${i}`, () => i); // misses again (evicted): still low
      inspector.adviseNow();
      expect(logger.count(/hit rate/)).toBe(1);
      for (let i = 0; i < 40; i++) await cache.get('k29'); // a window of hits clears it
      inspector.adviseNow();
      for (let i = 0; i < 30; i++) await cache.getOrSet(`m${i}`, () => i);
      inspector.adviseNow();
      expect(logger.count(/hit rate/)).toBe(2);
    });

    it('flags slow factories by their p95', async () => {
      const { cache } = await apps.create({ prefix: prefix(), metrics: false, advice: { interval: false, slowFactory: 1 } });
      for (let i = 0; i < 5; i++) await cache.getOrSet(`slow${i}`, () => new Promise((resolve) => setTimeout(() => resolve(i), 5)));
      const slow = cache.stats().advice.find((a) => a.code === 'slow-factory');
      expect(slow).toMatchObject({ cache: 'default', threshold: 1, option: 'advice.slowFactory' });
      expect(slow!.value).toBeGreaterThan(1);
    });

    it('validates its options with a how-to-fix message', async () => {
      await expect(apps.create({ advice: { hitRate: 2 } })).rejects.toThrow(/advice.hitRate must be a number between 0 and 1/);
      await expect(apps.create({ advice: { hitrate: 0.5 } as never })).rejects.toThrow(/unknown option 'advice.hitrate'/);
    });
  });

  describe('health', () => {
    it('is up without Redis, and follows Redis down and back', async () => {
      const memory = await apps.create({ prefix: prefix(), metrics: false });
      expect(await memory.app.get(CacheHealthIndicator).isHealthy('cache')).toMatchObject({ cache: { status: 'up', redis: { status: 'disabled' } } });

      const { app } = await apps.create({ redis: redis.url, prefix: prefix(), metrics: false, commandTimeout: 100, probeInterval: 100 });
      const health = app.get(CacheHealthIndicator);
      expect(await health.check()).toMatchObject({ status: 'up', degraded: false, redis: { status: 'up', breaker: 'closed' }, bus: { status: 'up' } });
      await redis.process.kill();
      await waitFor(async () => (await health.check()).status === 'down', { timeoutMs: 30_000, message: 'never down' });
      expect((await health.isHealthy('redis-cache'))['redis-cache']).toMatchObject({ status: 'down', degraded: true, redis: { status: 'down' } });
      // Says where and why, not the client's internals.
      await waitFor(async () => /not connected to 127\.0\.0\.1:\d+ \(\w+; last error: .*ECONNREFUSED/.test((await health.check()).redis.error ?? ''), { timeoutMs: 30_000, message: 'the address and the cause in the health details' });
      // A readiness probe that keeps the instance in service while it answers from L1 and the factories.
      expect((await health.isHealthy('redis-cache', { whenDegraded: 'up' }))['redis-cache']).toMatchObject({ status: 'up', degraded: true, redis: { status: 'down' } });
      await expect(health.isHealthy('x', { whenDegraded: 'maybe' as 'up' })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
      await redis.process.restart();
      await waitFor(async () => (await health.check()).status === 'up', { timeoutMs: 30_000, message: 'never up again' });
    });

    it('reads the bus through the hook the bus registers', async () => {
      const { app } = await apps.create({ prefix: prefix(), metrics: false });
      let connected = false;
      app.get(CacheTelemetry).setBusConnected(() => connected);
      expect(await app.get(CacheHealthIndicator).check()).toMatchObject({ status: 'down', bus: { status: 'down' } });
      connected = true;
      expect(await app.get(CacheHealthIndicator).check()).toMatchObject({ status: 'up', bus: { status: 'up' } });
    });
  });

  describe('OpenTelemetry', () => {
    afterEach(() => trace.disable());

    it('opens no span without a tracer provider, and spans Redis calls and factories with one', async () => {
      const untraced = await apps.create({ redis: redis.url, prefix: prefix(), metrics: false });
      expect(untraced.app.get(CacheTelemetry).tracing.tracer()).toBeUndefined();
      await untraced.cache.getOrSet('k', () => 1);

      const recorded: Array<{ name: string; attributes: SpanOptions['attributes']; ended: boolean; error: boolean }> = [];
      const tracer = {
        startSpan: () => {
          throw new Error('not used');
        },
        startActiveSpan: (name: string, options: SpanOptions, fn: (span: Span) => unknown) => {
          const record = { name, attributes: options.attributes, ended: false, error: false };
          recorded.push(record);
          const span = {
            end: () => void (record.ended = true),
            recordException: () => undefined,
            setStatus: () => void (record.error = true),
          } as unknown as Span;
          return fn(span);
        },
      } as unknown as Tracer;
      expect(trace.setGlobalTracerProvider({ getTracer: () => tracer } as TracerProvider)).toBe(true);

      const { cache } = await apps.create({ redis: redis.url, prefix: prefix(), caches: { ai: {} }, metrics: false });
      await cache.cache('ai').getOrSet('k', () => 1);
      await expect(cache.getOrSet('boom', () => Promise.reject(new Error('factory failed')))).rejects.toThrow('factory failed');
      // Each miss: the read, the stampede lock (one script: a second look, the lock), the factory, the (fenced) write.
      const miss = ['strata.l2.get', 'strata.lock', 'strata.factory'];
      expect(recorded.map((s) => s.name)).toEqual([...miss, 'strata.l2.set', ...miss]);
      expect(recorded[2]).toMatchObject({ attributes: { 'strata.cache': 'ai' }, ended: true, error: false });
      expect(recorded[6]).toMatchObject({ attributes: { 'strata.cache': 'default' }, ended: true, error: true });
    });
  });
});
