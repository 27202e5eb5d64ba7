/**
 * One candidate of the L2-only hit at 64 in flight, alone, for a CPU profile:
 *   node --cpu-prof --cpu-prof-dir=bench/.tmp -r ts-node/register/transpile-only -r tsconfig-paths/register \
 *     bench/profile-l2.ts strata|raw [bytes=1024] [json|text] [lz4|brotli]
 *   node bench/profile-top.js bench/.tmp/CPU.*.cpuprofile
 */
import Redis from 'ioredis';
import { compare, figureCell, openStrata } from './lib';
import { type Kind, valueOf } from './suites/sizes.suite';
import { startRedis } from '../libs/cache/test/harness';
(async () => {
  const [which, bytes = '1024', kind = 'json', compression = 'lz4'] = process.argv.slice(2);
  const value = valueOf(kind as Kind, Number(bytes));
  const server = await startRedis();
  const raw = new Redis(server.url);
  await raw.set('k', JSON.stringify(value));
  const s = await openStrata({ redis: server.url, memory: false, compression: compression as 'lz4' | 'brotli' });
  await s.cache.set('k', value);
  const op = which === 'raw' ? async () => JSON.parse((await raw.get('k'))!) : () => s.cache.get('k');
  const figs = await compare({ [which]: op }, { durationMs: 1000, runs: 4, concurrency: 64 });
  for (const f of Object.values(figs)) console.log(f.name.padEnd(20), figureCell(f));
  await s.close(); raw.disconnect(); await server.stop();
  process.exit(0);
})();
