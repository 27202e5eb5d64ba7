/**
 * What the cache-manager compat layer's copies cost: an L1 hit of the same ~1 KB JSON through Strata's
 * own `get` (a frozen value shared by every reader), through the compat `Cache.get` (a mutable deep copy
 * of it), and through cache-manager 7 at its default (Keyv's in-memory Map). Plus the copy alone:
 * Strata's `thaw` beside `structuredClone`.
 */
import { isDeepStrictEqual } from 'node:util';
import { StrataCacheManager } from '@strata/cache/compat';
import { thaw } from '../../libs/cache/src/compat/thaw';
import { type BenchContext, type Section, compare, throughputSection } from '../lib';
import { cacheManager } from '../peers';

export const title = 'compat';

export async function run(ctx: BenchContext): Promise<Section[]> {
  const measure = { durationMs: ctx.runMs, runs: ctx.runs };
  const strata = await ctx.strata({});
  const manager = new StrataCacheManager(strata.cache, { ttl: 60_000, refreshThreshold: undefined, cacheId: 'bench' });
  const peer = await cacheManager(ctx, 'l1', false);
  const remote = await cacheManager(ctx, 'l2', false);
  try {
    await manager.set('k', ctx.value);
    await peer.set('k', ctx.value);
    await remote.set('k', ctx.value);
    for (const read of [await strata.cache.get('k'), await manager.get('k'), await peer.get('k'), await remote.get('k')]) {
      if (!isDeepStrictEqual(read, ctx.value)) throw new Error('a candidate did not read back the value it stored');
    }
    const frozen = await strata.cache.get<Record<string, unknown>>('k');
    if (!Object.isFrozen(frozen)) throw new Error('the L1 value is not frozen: the copy would not be measured');
    ctx.log('compat L1 hit');
    const hits = await compare(
      {
        'Strata cache.get (shared, frozen)': () => strata.cache.get('k'),
        'compat Cache.get (a copy)': () => manager.get('k'),
        [peer.name]: () => peer.get('k'),
        'cache-manager over @keyv/redis (a copy per read)': () => remote.get('k'),
      },
      measure,
    );
    ctx.log('copy alone');
    const copies = await compare(
      {
        'thaw (compat copy)': () => thaw(frozen),
        structuredClone: () => structuredClone(frozen),
      },
      measure,
    );
    return [
      throughputSection('compat: L1 hit with a copy, 1 KB JSON', hits, {
        description:
          'cache-manager callers may change what they read, so `@strata/cache/compat` hands out a deep copy of the frozen L1 value; the first row is Strata without a copy.',
        notes: [
          "cache-manager 7's in-memory default hands out the stored object itself: a caller that changes what it read changes the cached value (checked when this suite was written). Its Redis store deserializes, so each read is a copy, after a round trip.",
        ],
      }),
      throughputSection('compat: the copy alone, 1 KB JSON', copies, {
        description: 'Copying the frozen 1 KB value: the compat layer\'s `thaw` (copies frozen plain data only) beside `structuredClone`.',
      }),
    ];
  } finally {
    await remote.close();
    await peer.close();
    await strata.close();
  }
}
