/**
 * Where a getOrSet miss at one in flight spends its time, with the lock and with `lock: false` (L1 +
 * Redis at README defaults, a 1 KiB JSON value, a new key per call): every Redis command timed from
 * ioredis's `sendCommand` to its reply, and the gaps between them (our own work), medians over 7,500
 * misses per variant after a warm-up, the two variants interleaved:
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/profile-miss-phases.ts
 */
import { Redis } from 'ioredis';
import { openStrata } from './lib';
import { jsonValue } from './suites/sizes.suite';
import { startRedis } from '../libs/cache/test/harness';

type Command = { name: string; promise: Promise<unknown> };

(async () => {
  const value = jsonValue(1024);
  const server = await startRedis();
  let log: Array<[string, number]> | undefined;
  // Only the commands of the miss being timed are recorded (`log` is set around it).
  const proto = Redis.prototype as unknown as { sendCommand(command: Command): unknown };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: unknown, command: Command) {
    const events = log;
    if (events !== undefined) {
      events.push([`send ${command.name}`, performance.now()]);
      command.promise.then(() => events.push([`reply ${command.name}`, performance.now()]), () => undefined);
    }
    return send.call(this, command);
  };
  const variants = { 'lock on': await openStrata({ redis: server.url }), 'lock: false': await openStrata({ redis: server.url, lock: false }) };
  const phases: Record<string, Record<string, number[]>> = {};
  let n = 0;
  for (let round = 0; round < 30; round++) {
    for (const [name, s] of Object.entries(variants)) {
      for (let i = 0; i < 300; i++) {
        const events: Array<[string, number]> = [];
        log = events;
        const started = performance.now();
        await s.cache.getOrSet(`miss:${++n}`, async () => value);
        const ended = performance.now();
        log = undefined;
        if (round < 5) continue; // warm-up
        const byPhase = (phases[name] ??= {});
        let previous: [string, number] = ['start', started];
        for (const event of [...events, ['end', ended] as [string, number]]) {
          (byPhase[`${previous[0]} → ${event[0]}`] ??= []).push(event[1] - previous[1]);
          previous = event;
        }
        (byPhase.total ??= []).push(ended - started);
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  for (const [name, byPhase] of Object.entries(phases)) {
    console.log(name);
    // Phases seen in fewer than a tenth of the misses are other traffic (a bus message, a health ping).
    for (const [phase, values] of Object.entries(byPhase)) if (values.length >= 750) console.log(`  ${phase.padEnd(34)} ${(median(values) * 1000).toFixed(1)} µs (${values.length})`);
  }
  for (const s of Object.values(variants)) await s.close();
  await server.stop();
  process.exit(0);
})();
