import { InvalidOptionError } from '../core/errors';
import { resolveOptions } from '../cache.options';
import { clusterDefaults } from '../redis/redis.failover';
import { jittered } from './resilience.options';

const cluster = [{ host: '127.0.0.1', port: 7000 }];

describe('resilience options', () => {
  it('defaults: lock on with Redis (10 s, polls up to 100 ms), off without; no fail-safe, timeouts or jitter', () => {
    const withRedis = resolveOptions({ redis: 'redis://127.0.0.1:1' });
    expect(withRedis.lock).toEqual({ ttl: 10_000, pollInterval: 100 });
    expect(resolveOptions({}).lock).toBeUndefined();
    expect(resolveOptions({ redis: 'redis://127.0.0.1:1', lock: false }).lock).toBeUndefined();
    const base = withRedis.caches.get('default')!;
    expect(base).toMatchObject({ failSafe: undefined, timeouts: { soft: undefined, hard: undefined }, ttlJitter: 0 });
  });

  it('resolves durations, and named caches inherit or override', () => {
    const options = resolveOptions({
      failSafe: { window: '1h' },
      timeouts: { soft: '100ms', hard: '5s' },
      ttlJitter: 0.1,
      caches: { ai: { failSafe: { window: '1d', throttle: '30s' }, timeouts: { hard: '60s' } }, plain: { failSafe: false, ttlJitter: 0 } },
    });
    expect(options.caches.get('default')).toMatchObject({ failSafe: { window: 3_600_000, throttle: 10_000 }, timeouts: { soft: 100, hard: 5_000 }, ttlJitter: 0.1 });
    expect(options.caches.get('ai')).toMatchObject({ failSafe: { window: 86_400_000, throttle: 30_000 }, timeouts: { soft: undefined, hard: 60_000 }, ttlJitter: 0.1 });
    expect(options.caches.get('plain')).toMatchObject({ failSafe: undefined, ttlJitter: 0 });
  });

  it.each([
    [{ failSafe: { throttle: '1s' } }, /failSafe must be false or \{ window, throttle\? \}/],
    [{ failSafe: { window: '1h', retries: 3 } }, /unknown option 'failSafe.retries'/],
    [{ timeouts: { soft: '5s', hard: '1s' } }, /timeouts.soft \(5000 ms\) must be shorter than timeouts.hard/],
    [{ timeouts: { hard: -1 } }, /timeouts.hard must be a positive duration/],
    [{ ttlJitter: 1 }, /ttlJitter must be a fraction from 0 up to \(not including\) 1/],
    [{ redis: 'redis://h:1', lock: { ttl: '50ms', pollInterval: '100ms' } }, /lock.pollInterval \(100 ms\) must be shorter than lock.ttl/],
    [{ caches: { ai: { ttlJitter: -0.5 } } }, /caches.ai.ttlJitter must be a fraction/],
  ])('rejects %j with a message that says how to fix it', (input, message) => {
    expect(() => resolveOptions(input as never)).toThrow(InvalidOptionError);
    expect(() => resolveOptions(input as never)).toThrow(message);
  });

  it('jitter shortens a ttl by up to the fraction, never lengthens it', () => {
    expect(jittered(1000, 0.2, () => 0)).toBe(1000);
    expect(jittered(1000, 0.2, () => 0.999_999)).toBe(800);
    expect(jittered(1000, 0, () => 0.5)).toBe(1000);
  });

  describe('Redis settings that cannot survive a failover', () => {
    it('accepts the defaults, sized for the node timeout', () => {
      expect(() => resolveOptions({ redis: { cluster } })).not.toThrow();
      expect(() => resolveOptions({ redis: { cluster, nodeTimeout: '2s' } })).not.toThrow();
      const defaults = clusterDefaults(15_000);
      expect(defaults.retryDelayOnFailover! * defaults.maxRedirections!).toBeGreaterThanOrEqual(30_000);
    });

    it('rejects retryDelayOnFailover × maxRedirections shorter than the cluster node timeout', () => {
      const input = { redis: { cluster, options: { retryDelayOnFailover: 100, maxRedirections: 16 } } };
      expect(() => resolveOptions(input)).toThrow(
        /retryDelayOnFailover \(100 ms\) × maxRedirections \(16\) = 1600 ms is shorter than the cluster node timeout \(15000 ms, redis.nodeTimeout\).*Set maxRedirections to at least 300/,
      );
      expect(() => resolveOptions({ redis: { cluster, nodeTimeout: 1000, options: { retryDelayOnFailover: 100, maxRedirections: 16 } } })).not.toThrow();
      expect(() => resolveOptions({ redis: { cluster, options: { retryDelayOnClusterDown: 10 } } })).toThrow(/retryDelayOnClusterDown \(10 ms\)/);
      expect(() => resolveOptions({ redis: { cluster, options: { retryDelayOnFailover: 0 } } })).toThrow(/retryDelayOnFailover \(0 ms\)/);
    });

    it.each([
      [{ cluster, options: { scaleReads: 'slave' } }, /scaleReads must be 'master'.*replicas lag/],
      [{ cluster, options: { enableOfflineQueue: true } }, /redis.options.enableOfflineQueue must stay false/],
      [{ cluster, options: { enableAutoPipelining: true } }, /enableAutoPipelining must stay off on a Cluster.*#2109/],
      [{ cluster, options: { redisOptions: { maxRetriesPerRequest: 3 } } }, /redis.options.redisOptions: autoResendUnfulfilledCommands and maxRetriesPerRequest must stay off/],
      [{ host: '127.0.0.1', port: 6379, enableOfflineQueue: true }, /redis.enableOfflineQueue must stay false/],
      [{ url: 'redis://h:1', options: { autoResendUnfulfilledCommands: true } }, /ioredis #2130/],
      [{ sentinels: [{ host: 'h', port: 1 }], name: 'm', maxRetriesPerRequest: null }, /maxRetriesPerRequest must stay off/],
    ])('rejects %j', (redis, message) => {
      expect(() => resolveOptions({ redis: redis as never })).toThrow(message);
    });
  });
});
