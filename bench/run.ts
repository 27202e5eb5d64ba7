/**
 * `npm run bench`: side-by-side benchmarks in one process run; writes bench/RESULTS.md.
 * Starts its own redis-server on a free loopback port (the test harness), so results never depend on
 * what else uses the shared Redis.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, type CacheModuleOptions } from '@strata/cache';
import { llmText } from '../libs/cache/src/codec/llm-text.fixture';
import { EntryCodec } from '../libs/cache/src/codec/entry.codec';
import { startRedis } from '../test/harness';
import { compare, figureCell, fmt, machine, oneKbValue, type Figure } from './lib';

interface Row {
  suite: string;
  figures: Record<string, Figure>;
  goal?: { candidate: string; baseline: string; ratio: number };
}

const silent = { log() {}, warn() {}, error() {} };

async function strata(options: CacheModuleOptions) {
  const moduleRef = await Test.createTestingModule({ imports: [CacheModule.forRoot({ logger: silent, ...options })] }).compile();
  const app = await moduleRef.init();
  return { cache: app.get(CacheService), close: () => app.close() };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const scale = quick ? 0.2 : 1;
  const redisServer = await startRedis();
  const rows: Row[] = [];
  const value = oneKbValue();
  const json = JSON.stringify(value);
  try {
    // L1 hit: Strata's cache.get against `await lru.get` of the same value.
    {
      const lru = new LRUCache<string, object>({ max: 10_000 });
      lru.set('k', value);
      const s = await strata({});
      await s.cache.set('k', value);
      const figures = await compare(
        { 'await lru.get': () => lru.get('k'), 'Strata cache.get (L1 hit)': () => s.cache.get('k') },
        { ops: Math.round(2_000_000 * scale) },
      );
      rows.push({ suite: 'L1 hit, 1 KB JSON', figures, goal: { candidate: 'Strata cache.get (L1 hit)', baseline: 'await lru.get', ratio: 0.25 } });
      await s.close();
    }
    // L2-only hit at 1 and 64 in flight: Strata with L1 off against raw ioredis GET + JSON.parse.
    for (const concurrency of [1, 64]) {
      const raw = new Redis(redisServer.url);
      await raw.set('raw:k', json);
      const s = await strata({ redis: redisServer.url, memory: false, prefix: 'bench' });
      await s.cache.set('k', value);
      const figures = await compare(
        {
          'ioredis GET + JSON.parse': async () => JSON.parse((await raw.get('raw:k')) as string),
          'Strata cache.get (L2 only)': () => s.cache.get('k'),
        },
        { ops: Math.round((concurrency === 1 ? 20_000 : 100_000) * scale), concurrency },
      );
      rows.push({
        suite: `L2-only hit, 1 KB JSON, ${concurrency} in flight`,
        figures,
        goal: concurrency === 64 ? { candidate: 'Strata cache.get (L2 only)', baseline: 'ioredis GET + JSON.parse', ratio: 0.85 } : undefined,
      });
      await s.close();
      raw.disconnect();
    }
  } finally {
    await redisServer.stop();
  }

  const compression = compressionTable();
  const report = render(rows, compression);
  writeFileSync(path.join(__dirname, 'RESULTS.md'), report);
  process.stdout.write(report);
}

function compressionTable(): string {
  const codec = new EntryCodec({ compressThreshold: 1024, maxInflatedBytes: 64 * 1024 * 1024 });
  const lines = ['| text | raw bytes | stored bytes (Strata entry) | ratio | gzip -6 ratio |', '|---|---|---|---|---|'];
  for (const size of [1024, 10 * 1024, 100 * 1024]) {
    const text = llmText(size, 11);
    const raw = Buffer.byteLength(text);
    const now = Date.now();
    const stored = codec.encode(
      { value: text, createdAt: now, expiresAt: now + 1, staleUntil: now + 1, tags: [] },
      codec.serializeValue(text),
    ).length;
    lines.push(`| LLM-like, ${fmt(size)}B | ${raw} | ${stored} | ${(stored / raw).toFixed(3)} | ${(gzipSync(text).length / raw).toFixed(3)} |`);
  }
  return lines.join('\n');
}

function render(rows: Row[], compression: string): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString()}.`,
    '',
    `Machine: ${machine()}. Redis: a redis-server started by the bench on loopback.`,
    'Each figure is the median of 5 runs (min–max), all candidates of a row measured in the same process, interleaved.',
    '',
  ];
  for (const row of rows) {
    out.push(`## ${row.suite}`, '', '| candidate | throughput |', '|---|---|');
    for (const figure of Object.values(row.figures)) out.push(`| ${figure.name} | ${figureCell(figure)} |`);
    if (row.goal) {
      const ratio = row.figures[row.goal.candidate].median / row.figures[row.goal.baseline].median;
      const verdict = ratio >= row.goal.ratio ? 'met' : `missed by ${((row.goal.ratio - ratio) * 100).toFixed(0)} points`;
      out.push('', `Ratio ${row.goal.candidate} / ${row.goal.baseline}: **${ratio.toFixed(2)}×** (goal ≥ ${row.goal.ratio}×: ${verdict}).`);
    }
    out.push('');
  }
  out.push('## Compression of LLM-like text in Redis', '', compression, '');
  return out.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
