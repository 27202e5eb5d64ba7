import type Redis from 'ioredis';
import { EntryCodec } from '../src/codec/entry.codec';
import type { CorruptEntryError } from '../src/core/errors';
import { createRedisClient } from '../src/redis/redis.connection';
import { RedisStore } from '../src/redis/redis.store';
import { RemoteTier } from '../src/tiers/remote.tier';
import { useRedis, waitFor } from './harness';
import { tierConformance, write } from './tier-conformance';

describe('RemoteTier on RedisStore (real redis-server)', () => {
  const redis = useRedis();
  let client: Redis;
  let tier: RemoteTier;
  const corrupt: string[] = [];

  beforeAll(async () => {
    client = createRedisClient(redis.url, { commandTimeout: 1000, connectTimeout: 2000 }).client as Redis;
    await waitFor(() => client.status === 'ready', { message: 'client never became ready' });
    tier = new RemoteTier(new RedisStore(client), {
      codec: new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 1024 * 1024 }),
      now: Date.now,
      onCorrupt: (key: string, _error: CorruptEntryError) => corrupt.push(key),
    });
  });
  afterAll(() => client.disconnect());

  tierConformance('redis', () => tier);

  it('sets the physical TTL to the end of the stale window', async () => {
    const now = Date.now();
    await tier.set(write('ttl', 'v', { createdAt: now, expiresAt: now + 10_000, staleUntil: now + 30_000 }));
    const pttl = await client.pttl('ttl');
    expect(pttl).toBeGreaterThan(28_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('gives a counter its TTL only when it creates it', async () => {
    await tier.increment('ctr:ttl', 1, 5_000);
    await client.pexpire('ctr:ttl', 60_000);
    await tier.increment('ctr:ttl', 1, 5_000);
    expect(await client.pttl('ctr:ttl')).toBeGreaterThan(50_000);
  });

  it.each([
    ['garbage', Buffer.from('not an entry at all')],
    ['an unknown version', Buffer.from([0xff, 0x7b, 0x7d])],
    ['truncated JSON', Buffer.concat([Buffer.from([0x20]), Buffer.from('{"c":1,"e":2,"s":3,"t":[],"v":')])],
    ['an empty value', Buffer.alloc(0)],
  ])('treats %s as a miss, deletes it and reports it', async (label, bytes) => {
    const key = `corrupt:${label}`;
    await client.set(key, bytes);
    expect(await tier.get(key)).toBeUndefined();
    expect(corrupt).toContain(key);
    await waitFor(async () => (await client.exists(key)) === 0, { message: 'corrupt key was not deleted' });
  });

  it('does not delete a corrupt key that was rewritten in between', async () => {
    await client.set('corrupt:race', 'garbage');
    const good = write('corrupt:race', 'fresh');
    // Decode fails on the garbage; the good write lands before the compare-and-delete runs.
    const read = tier.get('corrupt:race');
    await tier.set(good);
    expect(await read).toBeUndefined();
    await waitFor(() => corrupt.includes('corrupt:race'));
    expect((await tier.get('corrupt:race'))?.value).toBe('fresh');
  });

  // Brotli where bytes matter more than CPU; LZ4 (the default) reads ~10× cheaper for ~1.7× the bytes.
  it.each([
    ['brotli', 0.3, 0.33],
    ['lz4', 0.6, 0.65],
  ] as const)('compression %s stores 10 KB LLM-like texts at no more than %s of their size (mean of 12 texts, as STRLEN sees it)', async (compression, mean, worst) => {
    const { llmText } = await import('./fixtures/llm-text.fixture');
    const codecTier = new RemoteTier(new RedisStore(client), {
      codec: new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 1024 * 1024, compression }),
      now: Date.now,
      onCorrupt: (key: string, _error: CorruptEntryError) => corrupt.push(key),
    });
    const ratios: number[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const text = llmText(10 * 1024, seed);
      await codecTier.set(write(`llm:${compression}:${seed}`, text));
      ratios.push((await client.strlen(`llm:${compression}:${seed}`)) / Buffer.byteLength(text));
      expect((await tier.get(`llm:${compression}:${seed}`))!.value).toBe(text);
    }
    expect(ratios.reduce((a, b) => a + b) / ratios.length).toBeLessThanOrEqual(mean);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(worst);
  });
});
