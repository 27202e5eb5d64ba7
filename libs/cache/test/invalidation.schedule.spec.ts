import { waitFor } from './harness';
import { InvalidArgumentError } from '../src';
import { useInvalidationSuite } from './invalidation-suite';

/** Scheduled invalidation (`expireAt`): kept in Redis, applied by a poller in every instance. */
describe('expireAt', () => {
  const { redis, apps, admin, prefix } = useInvalidationSuite('sched');
  const fast = { invalidation: { pollInterval: 20 } };

  it('deletes keys when their time comes, on every instance, not before', async () => {
    const p = prefix();
    const a = await apps.create({ redis: redis.url, prefix: p, ...fast }, { fakeClock: true });
    const b = await apps.create({ redis: redis.url, prefix: p, ...fast });
    await a.cache.setMany([{ key: 'promo:1', value: 'on' }, { key: 'promo:2', value: 'on' }, { key: 'stays', value: 'on' }]);
    expect(await b.cache.get('promo:1')).toBe('on'); // now in B's L1
    // b's clock is the real one: only a finds the item due, once its clock is moved on.
    await a.cache.expireAt(['promo:1', 'promo:2'], a.clock.now + 60_000);
    expect(await admin().zcard(`${p}:__sched`)).toBe(1);
    expect(await a.inspector.pollSchedule()).toBe(0);
    expect(await a.cache.get('promo:1')).toBe('on');
    a.clock.advance(60_000);
    await waitFor(async () => (await admin().zcard(`${p}:__sched`)) === 0, { message: 'the poller to apply the item' });
    expect(await a.cache.getMany(['promo:1', 'promo:2', 'stays'])).toEqual([undefined, undefined, 'on']);
    await waitFor(async () => (await b.cache.get('promo:1')) === undefined, { message: 'B to drop its copy' });
  });

  it('invalidates tags as of the scheduled time: entries written after it stay', async () => {
    const p = prefix();
    const { cache, clock, inspector } = await apps.create({ redis: redis.url, prefix: p, ...fast }, { fakeClock: true });
    await cache.set('old', 1, { tags: ['sale'] });
    await cache.expireAt({ tags: ['sale'] }, clock.now + 1000);
    clock.advance(2000);
    await cache.set('new', 2, { tags: ['sale'] }); // written after the scheduled time
    await waitFor(async () => (await inspector.pollSchedule()) === 0 && (await admin().zcard(`${p}:__sched`)) === 0);
    expect(await cache.get('old')).toBeUndefined();
    expect(await cache.get('new')).toBe(2);
  });

  it('survives a restart: an instance started later applies what an earlier one scheduled', async () => {
    const p = prefix();
    const first = await apps.create({ redis: redis.url, prefix: p, ...fast });
    await first.cache.set('report', 'r');
    await first.cache.expireAt('report', new Date(Date.now() + 300));
    await first.app.close();
    expect(await admin().zcard(`${p}:__sched`)).toBe(1);
    const later = await apps.create({ redis: redis.url, prefix: p, ...fast });
    expect(await later.cache.get('report')).toBe('r');
    await waitFor(async () => (await later.cache.get('report')) === undefined, { message: 'the new instance to apply it' });
    expect(await admin().exists(later.cache.keyOf('report'))).toBe(0);
  });

  it('memory-only: the schedule lives in the process', async () => {
    const { cache, clock } = await apps.create({ ...fast }, { fakeClock: true });
    await cache.set('k', 'v');
    await cache.expireAt('k', clock.now + 5000);
    expect(await cache.get('k')).toBe('v');
    clock.advance(5000);
    await waitFor(async () => (await cache.get('k')) === undefined);
  });

  it('rejects a time that is not one', async () => {
    const { cache } = await apps.create({ redis: redis.url, prefix: prefix() });
    await expect(cache.expireAt('k', Number.NaN)).rejects.toThrow(/expireAt takes a Date or epoch milliseconds/);
    await expect(cache.expireAt('k', new Date('nope'))).rejects.toThrow(InvalidArgumentError);
  });
});
