/**
 * Cost of EntryCodec.decode on the Redis-hit hot path against the floor: a bare JSON.parse of the
 * value text alone.
 *   npx ts-node --transpile-only bench/codec/decode.measure.ts
 */
import { EntryCodec } from '../../libs/cache/src/codec/entry.codec';

/** A ~1 KB API-response-like object: the size most cached values have. */
function oneKbObject(): Record<string, unknown> {
  return {
    id: 'usr_8f14e45fceea167a5a36dedd4bea2543',
    email: 'ada.lovelace@example.com',
    name: { given: 'Ada', family: 'Lovelace', display: 'Ada Lovelace' },
    createdAt: '2023-11-14T09:26:53.589Z',
    roles: ['admin', 'billing', 'support'],
    settings: { locale: 'en-GB', timezone: 'Europe/London', theme: 'dark', notifications: { email: true, sms: false } },
    stats: { logins: 1284, lastLogin: '2024-05-02T17:03:11.000Z', score: 0.9137, streak: 12 },
    orders: Array.from({ length: 6 }, (_, i) => ({
      id: 10_000 + i,
      total: Math.round((19.99 + i * 7.31) * 100) / 100,
      currency: 'EUR',
      status: i % 3 === 0 ? 'shipped' : 'delivered',
      items: i + 1,
    })),
    bio: 'Mathematician and writer, known for her work on the Analytical Engine.',
  };
}

function nsPerOp(fn: () => unknown, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < iterations / 10; i++) sink += fn() === undefined ? 1 : 0;
  const runs: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += fn() === undefined ? 1 : 0;
    runs.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  if (sink < 0) console.log(sink); // keeps the calls observable
  return runs.sort((a, b) => a - b)[3];
}

const value = oneKbObject();
const entry = { value, createdAt: Date.now(), expiresAt: Date.now() + 60_000, staleUntil: Date.now() + 360_000, tags: ['t:users'] };
const plain = new EntryCodec({ compressThreshold: Infinity });
const compressing = new EntryCodec();
const serialized = plain.serializeValue(value);
const plainBytes = plain.encode(entry, serialized);
const compressedBytes = compressing.encode(entry, serialized);
const N = 100_000;

const floor = nsPerOp(() => JSON.parse(serialized.text), N);
const hot = nsPerOp(() => plain.decode(plainBytes), N);
const packed = nsPerOp(() => compressing.decode(compressedBytes), N / 10);
console.log(`value text ${Buffer.byteLength(serialized.text)} B; plain entry ${plainBytes.length} B; compressed entry ${compressedBytes.length} B`);
console.log(`JSON.parse(value text)         ${floor.toFixed(0).padStart(6)} ns/op`);
console.log(`decode, plain (hot path)       ${hot.toFixed(0).padStart(6)} ns/op   ×${(hot / floor).toFixed(2)}`);
console.log(`decode, compressed (default)   ${packed.toFixed(0).padStart(6)} ns/op   ×${(packed / floor).toFixed(2)}`);
