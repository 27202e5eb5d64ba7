/**
 * The hard purge of invalidated tags (`invalidation.purge`): what its key index costs a write (`set` with
 * two tags, purge off against on, one at a time and 32 in flight), what the index costs in memory, and
 * how long purging a tag over 10,000 keys takes. `npm run bench -- --only=purge` runs it alone.
 */
import { Redis } from 'ioredis';
import { waitFor } from '../../libs/cache/test/harness';
import { type BenchContext, type Section, compare, pairedRatio, throughputSection } from '../lib';

export const title = 'purge';

const KEYS = 10_000;
const PURGED = 10_000;

export async function run(ctx: BenchContext): Promise<Section[]> {
  const off = await ctx.strata({ redis: ctx.redisUrl, prefix: 'poff' });
  const on = await ctx.strata({ redis: ctx.redisUrl, prefix: 'pon', invalidation: { purge: true } });
  const admin = new Redis(ctx.redisUrl);
  try {
    // Keys cycle over 10,000 written beforehand, so the shared tag's index holds 10,000 members, as a real one would.
    const tagsOf = (i: number) => [`group:${i % 100}`, 'items'];
    for (const { cache } of [off, on]) {
      for (let i = 0; i < KEYS; i += 1000) {
        await cache.setMany(Array.from({ length: 1000 }, (_, j) => ({ key: `item:${i + j}`, value: ctx.value, tags: tagsOf(i + j) })));
      }
    }
    const setWith = (cache: typeof off.cache) => (i: number) => cache.set(`item:${i % KEYS}`, ctx.value, { tags: tagsOf(i) });
    const candidates = { 'set, 2 tags, purge off': setWith(off.cache), 'set, 2 tags, purge on': setWith(on.cache) };
    const [offName, onName] = Object.keys(candidates);
    ctx.log('purge: write cost, one at a time');
    const sequential = await compare(candidates, { durationMs: ctx.runMs, runs: ctx.runs });
    ctx.log('purge: write cost, 32 in flight');
    const concurrent = await compare(candidates, { durationMs: ctx.runMs, runs: ctx.runs, concurrency: 32 });

    const index = 'pon:__tagkeys:{tag:pon:items}';
    const members = await admin.zcard(index);
    const indexBytes = Number(await admin.call('MEMORY', 'USAGE', index));

    ctx.log('purge: a tag over 10,000 keys');
    for (let i = 0; i < PURGED; i += 1000) {
      await on.cache.setMany(Array.from({ length: 1000 }, (_, j) => ({ key: `bulk:${i + j}`, value: ctx.value, tags: ['bulk'] })));
    }
    const started = performance.now();
    await on.cache.invalidateTags(['bulk']);
    const returnedMs = performance.now() - started;
    const bulk = Array.from({ length: PURGED }, (_, i) => on.cache.keyOf(`bulk:${i}`));
    const left = async () => {
      let n = 0;
      for (let i = 0; i < bulk.length; i += 1000) n += await admin.exists(...bulk.slice(i, i + 1000));
      return n;
    };
    await waitFor(async () => (await left()) === 0, { timeoutMs: 60_000, intervalMs: 10, message: 'the purge to finish' });
    const purgedMs = performance.now() - started;

    const ratio = (figures: typeof sequential) => pairedRatio(figures[onName], figures[offName]).toFixed(2);
    return [
      throughputSection('Hard purge: the cost of its index on writes', sequential, {
        description:
          '`await cache.set(key, 1 KB JSON, { tags: [group, "items"] })` over 10,000 keys, with `invalidation.purge` off and on ' +
          '(on: one index script for both tags, sent with the SET). One at a time.',
        notes: [
          `32 in flight: purge off ${Math.round(concurrent[offName].median)} ops/s, on ${Math.round(concurrent[onName].median)} ops/s (× ${ratio(concurrent)}); one at a time × ${ratio(sequential)}.`,
          `Index memory: ${members} members in ${indexBytes} bytes (MEMORY USAGE), ${(indexBytes / Math.max(1, members)).toFixed(0)} bytes a key and tag.`,
          `Purge of a tag over ${PURGED.toLocaleString('en')} keys (scanCount 100, scanPause 0): invalidateTags returned in ${returnedMs.toFixed(1)} ms; every key gone after ${purgedMs.toFixed(0)} ms.`,
        ],
      }),
    ];
  } finally {
    admin.disconnect();
    await off.close();
    await on.close();
  }
}
