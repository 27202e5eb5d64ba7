/**
 * Strata's getOrSet miss (a new key each call, a factory that returns at once, L1 + Redis at README
 * defaults, the lock on) alone, for a CPU profile:
 *   node --cpu-prof --cpu-prof-dir=bench/.tmp -r ts-node/register/transpile-only -r tsconfig-paths/register \
 *     bench/profile-miss.ts [bytes=1024] [concurrency=16]
 *   node bench/profile-top.js bench/.tmp/CPU.*.cpuprofile
 */
import { compare, figureCell, openStrata } from './lib';
import { jsonValue } from './suites/sizes.suite';
import { startRedis } from '../libs/cache/test/harness';
(async () => {
  const [bytes = '1024', concurrency = '16'] = process.argv.slice(2);
  const value = jsonValue(Number(bytes));
  const server = await startRedis();
  const s = await openStrata({ redis: server.url });
  let n = 0;
  const figs = await compare({ miss: () => s.cache.getOrSet(`miss:${++n}`, async () => value) }, { durationMs: 1000, runs: 4, concurrency: Number(concurrency) });
  for (const f of Object.values(figs)) console.log(f.name.padEnd(20), figureCell(f));
  await s.close(); await server.stop();
  process.exit(0);
})();
