import { InvalidOptionError } from '../src';
import { resolveOptions } from '../src/cache.options';

/** The options this issue adds: defaults, and a message that says how to fix each mistake. */
describe('invalidation and warming options', () => {
  const redis = 'redis://127.0.0.1:1';

  it('has the documented defaults', () => {
    const o = resolveOptions({ redis });
    expect(o.bus).toEqual({ pingInterval: 1000, pingTimeout: 1000, logSize: 1000 });
    expect(o.warming).toBe(false);
    expect(o.scanCount).toBe(100);
    expect(o.pollInterval).toBe(1000);
    expect(o.purge).toBe(false);
    expect(resolveOptions({ redis, invalidation: { purge: true } }).purge).toBe(true);
    expect(resolveOptions({ invalidation: { purge: true } }).purge).toBe(false); // memory only: nothing to purge
    expect(o.caches.get('default')).toMatchObject({ refreshAhead: 0.1, version: undefined });
    expect(resolveOptions({}).bus).toBe(false); // memory only: nothing to subscribe to
  });

  it('reads the options, and named caches inherit version and refreshAhead', () => {
    const o = resolveOptions({
      redis,
      bus: { pingInterval: '200ms', pingTimeout: 300 },
      warming: { interval: '5s', maxRefreshes: 3 },
      invalidation: { scanCount: 100, pollInterval: '250ms' },
      refreshAhead: 0.2,
      version: 3,
      caches: { ai: { version: 'b', refreshAhead: false }, plain: {} },
    });
    expect(o.bus).toEqual({ pingInterval: 200, pingTimeout: 300, logSize: 1000 });
    expect(o.warming).toEqual({ interval: 5000, maxRefreshes: 3, minReads: 5, maxKeys: 1000 });
    expect([o.scanCount, o.pollInterval]).toEqual([100, 250]);
    expect(o.caches.get('default')).toMatchObject({ version: '3', refreshAhead: 0.2 });
    expect(o.caches.get('ai')).toMatchObject({ version: 'b', refreshAhead: 0 });
    expect(o.caches.get('plain')).toMatchObject({ version: '3', refreshAhead: 0.2 });
    expect(resolveOptions({ redis, bus: false }).bus).toBe(false);
  });

  it.each([
    [{ bus: { pingIntervall: '1s' } }, "unknown option 'bus.pingIntervall'; bus takes pingInterval, pingTimeout"],
    [{ bus: true }, 'bus must be false or an object with pingInterval, pingTimeout'],
    [{ bus: { pingTimeout: -1 } }, 'bus.pingTimeout must be a positive duration'],
    [{ warming: { minReads: 0 } }, 'warming.minReads must be a positive whole number'],
    [{ warming: 'on' }, 'warming must be false or an object with interval, maxRefreshes, minReads, maxKeys'],
    [{ invalidation: { scanCount: 1.5 } }, 'invalidation.scanCount must be a positive whole number'],
    [{ invalidation: { poll: '1s' } }, "unknown option 'invalidation.poll'"],
    [{ invalidation: { purge: 'yes' } }, 'invalidation.purge must be true or false'],
    [{ refreshAhead: 1 }, 'refreshAhead must be a fraction of the TTL between 0 and 1 (e.g. 0.1 for the last 10%) or false'],
    [{ caches: { ai: { refreshAhead: 0 } } }, 'caches.ai.refreshAhead must be a fraction'],
    [{ version: {} }, 'version must be a non-empty string or a number'],
    [{ caches: { ai: { version: Number.NaN } } }, 'caches.ai.version must be a non-empty string or a number'],
  ])('rejects %j', (bad, message) => {
    const attempt = () => resolveOptions({ redis, ...(bad as object) });
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(message);
  });
});
