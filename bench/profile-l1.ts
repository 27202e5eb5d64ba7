/**
 * The L1 hit `get` (README defaults, memory only) beside `await lru.get`, alone, for a CPU profile:
 *   node --cpu-prof --cpu-prof-dir=bench/.tmp -r ts-node/register/transpile-only -r tsconfig-paths/register \
 *     bench/profile-l1.ts [strata|lru|both]
 *   node bench/profile-top.js bench/.tmp/CPU.*.cpuprofile
 */
import { LRUCache } from 'lru-cache';
import { compare, figureCell, openStrata, pairedRatio } from './lib';
import { jsonValue } from './suites/sizes.suite';
(async () => {
  const [which = 'both'] = process.argv.slice(2);
  const value = jsonValue(1024);
  const lru = new LRUCache<string, object>({ max: 10_000, ttl: 600_000 });
  lru.set('k', value);
  const s = await openStrata({});
  await s.cache.set('k', value);
  const ops: Record<string, () => unknown> = {};
  if (which !== 'strata') ops.lru = () => lru.get('k');
  if (which !== 'lru') ops.strata = () => s.cache.get('k');
  const figs = await compare(ops, { durationMs: 400, runs: 7 });
  for (const f of Object.values(figs)) console.log(f.name.padEnd(20), figureCell(f));
  if (figs.lru && figs.strata) console.log('ratio', pairedRatio(figs.strata, figs.lru).toFixed(3));
  await s.close();
  process.exit(0);
})();
