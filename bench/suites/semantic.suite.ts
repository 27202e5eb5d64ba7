/**
 * The semantic cache at scale: 100,000 cached prompts in ONE scope (same tenant, provider, model,
 * operation and parameters), on a real redis-server started for the run.
 *
 * Measured, each over the same query mix:
 * - `lookup, hit`: `AiResponseCache.lookup()` of a rephrased cached prompt: embed, exact GET (miss),
 *   XRANGE of the scope's stream (empty), index search, guards, MGET of the answer; `miss`: the same
 *   for a prompt that is not there. Once with the default guards (the blocking key finds candidates in
 *   O(1)), once with relaxed guards (one added word allowed: no blocking key, the sign codes are scanned).
 * - `index alone`: the in-memory search alone, both ways.
 * - `brute force`: the naive alternative: a Float32 cosine against every vector, same queries.
 * - one GET round trip: what a single Redis command costs on this machine at this moment, for scale.
 * - cold load: the first lookup of a fresh instance, which reads the 100,000 vectors from Redis.
 * - memory per entry: heap + array buffers of that fresh instance's index, over the entries.
 */
import 'reflect-metadata';
import os from 'node:os';
import { Test } from '@nestjs/testing';
import { CacheModule } from '@strata/cache';
import { AiCacheModule, AiResponseCache, SemanticCache, type SemanticGuardOptions } from '@strata/cache/ai';
import type { INestApplicationContext } from '@nestjs/common';
import Redis from 'ioredis';
import { startRedis } from '../../libs/cache/test/harness';
import { VectorIndex } from '../../libs/cache/src/ai/semantic/vector-index';
import { decodeRecord } from '../../libs/cache/src/ai/semantic/vector-record';
import { blockOf } from '../../libs/cache/src/ai/semantic/guards';

export interface LatencyFigure {
  name: string;
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface SemanticBenchResult {
  entries: number;
  fillSeconds: number;
  coldLoadMs: number;
  bytesPerEntry: { measuredHeap: number | undefined; estimated: number };
  hitRate: number;
  scanHitRate: number;
  figures: LatencyFigure[];
  machine: string;
  loadAverage: string;
}

const silent = { log() {}, warn() {}, error() {} };
const VERBS = 'reset change delete export import update cancel renew share download upload rename move copy archive restore enable disable configure install remove merge split sync schedule pause resume transfer verify approve reject assign tag filter sort search print encrypt decrypt backup audit'.split(' ');
const NOUNS = 'password username email invoice report account subscription profile avatar calendar contact file folder project workspace team license token key backup database dashboard widget invoice-template receipt payment card address phone-number webhook integration channel message thread comment task milestone sprint board label role permission group policy device session cookie certificate domain'.split(' ');
const PLACES = 'the web app|the mobile app|Windows|macOS|Linux|Android|iOS|Chrome|Firefox|Safari|the admin panel|the API|Slack|Teams|Excel|the CLI|Zapier|Jira|GitHub|Notion|Salesforce|HubSpot|the desktop app|the browser extension|the partner portal'.split('|');
const TEMPLATES = [
  (v: string, n: string, p: string) => `How do I ${v} my ${n} in ${p}?`,
  (v: string, n: string, p: string) => `What happens when I ${v} a ${n} on ${p}?`,
  (v: string, n: string, p: string) => `Why can I not ${v} the ${n} from ${p}?`,
  (v: string, n: string, p: string) => `Is it possible to ${v} every ${n} using ${p}?`,
];

function prompt(i: number): string {
  const v = VERBS[i % VERBS.length];
  const n = NOUNS[Math.floor(i / VERBS.length) % NOUNS.length];
  const p = PLACES[Math.floor(i / (VERBS.length * NOUNS.length)) % PLACES.length];
  const t = TEMPLATES[Math.floor(i / (VERBS.length * NOUNS.length * PLACES.length)) % TEMPLATES.length];
  return t(v, n, p);
}

/** The way people retype a question: lower case, a "please", "can I" for "do I". */
function rephrase(text: string): string {
  return 'please, ' + text.toLowerCase().replace('how do i', 'how can i').replace(/\?$/, '');
}

/** The one scope's stream, read back: the index the cache builds, and the same vectors as Float32 rows. */
async function loadStream(url: string, rows = true): Promise<{ index: VectorIndex; vectors: Float32Array[] }> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    let key: string | undefined;
    do {
      const [nextCursor, keys] = await client.scan(cursor, 'MATCH', '*__sem.*', 'COUNT', 1000);
      cursor = nextCursor;
      key ??= keys.find((k) => !k.endsWith('__semscopes'));
    } while (cursor !== '0' && key === undefined);
    if (key === undefined) throw new Error('no semantic stream found');
    let index: VectorIndex | undefined;
    const vectors: Float32Array[] = [];
    let after = '-';
    for (;;) {
      const batch = await client.xrangeBuffer(key, after, '+', 'COUNT', 5000);
      for (const [id, fields] of batch) {
        after = `(${id.toString()}`;
        const record = decodeRecord(fields[1]);
        if (record === undefined) continue;
        index ??= new VectorIndex(record.vector.q.length);
        index.add(record.vector, record.key, record.signature, record.expiresAt, record.block);
        if (rows) vectors.push(Float32Array.from(record.vector.q, (x) => x * record.vector.scale));
      }
      if (batch.length < 5000) break;
    }
    return { index: index!, vectors };
  } finally {
    client.disconnect();
  }
}

function bruteForce(vectors: readonly Float32Array[], query: Float32Array, threshold: number): number {
  let best = -1;
  let bestSimilarity = threshold;
  for (let v = 0; v < vectors.length; v++) {
    const row = vectors[v];
    let dot = 0;
    for (let i = 0; i < row.length; i++) dot += row[i] * query[i];
    if (dot >= bestSimilarity) {
      bestSimilarity = dot;
      best = v;
    }
  }
  return best;
}

function percentiles(name: string, samples: number[]): LatencyFigure {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { name, samples: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] };
}

async function app(url: string, guards: SemanticGuardOptions = {}): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CacheModule.forRoot({
        logger: process.env.BENCH_LOG ? console : silent,
        redis: url,
        // Latency is measured, not degradation: on a loaded machine a 250 ms timeout would turn slow answers into misses.
        commandTimeout: '5s',
        prefix: 'bench', caches: { ai: { ttl: '1d' } }, memory: { maxEntries: 200_000, maxBytes: 256 * 1024 * 1024 } }),
      AiCacheModule.forRoot({ ttl: { qa: '1d' }, adaptiveTtl: false, semantic: { guards } }),
    ],
  }).compile();
  return moduleRef.init();
}

export async function run(options: { entries?: number; queries?: number; log?: (line: string) => void } = {}): Promise<SemanticBenchResult> {
  const entries = options.entries ?? 100_000;
  const queries = options.queries ?? 2000;
  const log = options.log ?? (() => undefined);
  if (entries > VERBS.length * NOUNS.length * PLACES.length * TEMPLATES.length) throw new Error('not enough distinct prompts');
  const redis = await startRedis({ config: { save: '""', appendonly: 'no' } });
  const apps: INestApplicationContext[] = [];
  try {
    const writer = await app(redis.url);
    apps.push(writer);
    const ai = writer.get(AiResponseCache);
    const request = (text: string) => ({ model: 'gpt-4o-mini', operation: 'qa', temperature: 0, prompt: text });

    const fillStart = performance.now();
    for (let i = 0; i < entries; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(entries, i + 1000); j++) batch.push({ input: request(prompt(j)), output: { output: `answer ${j}`, usage: { promptTokens: 40, completionTokens: 120 } } });
      await ai.warmUp(batch);
      if ((i / 1000) % 20 === 0) log(`filled ${i + batch.length}`);
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    // The writer's heap (100,000 answers in its L1) is not what a reading instance carries: let it go.
    await writer.close();
    apps.splice(apps.indexOf(writer), 1);

    // A fresh instance: its first lookup loads the whole scope from Redis.
    const reader = await app(redis.url);
    apps.push(reader);
    const readerAi = reader.get(AiResponseCache);
    const coldStart = performance.now();
    const first = await readerAi.lookup(request(rephrase(prompt(7))));
    const coldLoadMs = performance.now() - coldStart;
    if (first?.status !== 'semantic') throw new Error(`cold lookup did not hit: ${JSON.stringify(first?.status)}`);
    const semantic = reader.get(SemanticCache);
    const estimated = semantic.stats().indexBytes / entries;
    // Memory: the same index built alone, between two full collections.
    const gc = (globalThis as { gc?: () => void }).gc;
    let measuredHeap: number | undefined;
    if (gc) {
      gc();
      const before = process.memoryUsage();
      const alone = await loadStream(redis.url, false);
      gc();
      const after = process.memoryUsage();
      measuredHeap = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / alone.index.size;
    }

    // Queries: half rephrased cached prompts, half prompts that are not there.
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    const hitQueries = Array.from({ length: queries / 2 }, () => rephrase(prompt(Math.floor(next() * entries))));
    const missQueries = Array.from({ length: queries / 2 }, (_, i) => `How do I frobnicate my ${NOUNS[i % NOUNS.length]} in the quantum console ${i}?`);

    const raw = new Redis(redis.url);
    const rttTimes: number[] = [];
    const measure = async (cache: AiResponseCache) => {
      const hitTimes: number[] = [];
      const missTimes: number[] = [];
      let hits = 0;
      for (let i = 0; i < queries / 2; i++) {
        const r = performance.now();
        await raw.get('bench:rtt');
        rttTimes.push(performance.now() - r);
        let t = performance.now();
        const hit = await cache.lookup(request(hitQueries[i]));
        hitTimes.push(performance.now() - t);
        if (hit?.status === 'semantic') hits += 1;
        t = performance.now();
        await cache.lookup(request(missQueries[i]));
        missTimes.push(performance.now() - t);
      }
      return { hitTimes, missTimes, hits };
    };
    gc?.();
    const blocking = await measure(readerAi);
    // Relaxed guards (one added word allowed) have no blocking key: the lookup scans the sign codes.
    const scanner = await app(redis.url, { maxAddedWords: 1 });
    apps.push(scanner);
    const scannerAi = scanner.get(AiResponseCache);
    await scannerAi.lookup(request(hitQueries[0])); // its cold load
    gc?.();
    const scanning = await measure(scannerAi);
    const hits = blocking.hits;
    raw.disconnect();

    // The index alone, and the naive brute force, on the same queries, over the vectors as stored in Redis.
    const probes = await semantic.probeMany([...hitQueries.slice(0, 500), ...missQueries.slice(0, 500)]);
    const { index, vectors } = await loadStream(redis.url);
    const indexTimes: number[] = [];
    const blockTimes: number[] = [];
    const bruteTimes: number[] = [];
    for (const probe of probes) {
      let t = performance.now();
      index.searchBlock(blockOf(probe.signature), probe.unit, { threshold: semantic.threshold, now: Date.now() });
      blockTimes.push(performance.now() - t);
      t = performance.now();
      index.search(probe.unit, probe.vector.code, { threshold: semantic.threshold, candidates: 128, now: Date.now() });
      indexTimes.push(performance.now() - t);
      t = performance.now();
      bruteForce(vectors, probe.unit, semantic.threshold);
      bruteTimes.push(performance.now() - t);
    }
    const loads = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    return {
      entries,
      fillSeconds,
      coldLoadMs,
      bytesPerEntry: { measuredHeap, estimated },
      hitRate: hits / (queries / 2),
      scanHitRate: scanning.hits / (queries / 2),
      figures: [
        percentiles('lookup, hit (default guards: blocking key)', blocking.hitTimes),
        percentiles('lookup, miss (default guards: blocking key)', blocking.missTimes),
        percentiles('lookup, hit (relaxed guards: sign-code scan)', scanning.hitTimes),
        percentiles('lookup, miss (relaxed guards: sign-code scan)', scanning.missTimes),
        percentiles('index alone: blocking-key bucket', blockTimes),
        percentiles('index alone: sign-code scan + int8 re-rank', indexTimes),
        percentiles('brute force Float32 cosine over every vector (baseline)', bruteTimes),
        percentiles('one ioredis GET round trip (baseline: the machine and Redis)', rttTimes),
      ],
      machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}`,
      loadAverage: loads,
    };
  } finally {
    await Promise.all(apps.map((a) => a.close()));
    await redis.stop();
  }
}
