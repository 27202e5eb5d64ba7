/**
 * What users get, per value size: README defaults (compression threshold, metrics on, the cluster-wide
 * lock on), values of exactly 256 B, 1,024 B, 4 KiB, 16 KiB and 64 KiB of serialized JSON, as a JSON
 * object and as LLM-like markdown text. L2-only hits at 1 and 64 in flight per size and kind; getOrSet
 * misses (a new key each call, a factory that returns at once) of 1 KiB and 16 KiB per kind at 1 and 16 in
 * flight. Peers in the same runs, interleaved run by run; the ratios are medians of per-run ratios.
 *
 * `SIZES=1024,16384 KINDS=json npm run bench -- --only=sizes` narrows it down (for profiling).
 */
import { isDeepStrictEqual } from 'node:util';
import { llmText } from '../../libs/cache/test/fixtures/llm-text.fixture';
import { type BenchContext, type Figure, type GoalResult, type Section, compare, goal, throughputSection } from '../lib';
import { type Layout, type Peer, bentocache, cacheManager, cacheable, rawIoredis, strata } from '../peers';

export const title = 'sizes';

export const SIZES = [256, 1024, 4096, 16384, 65536];
export type Kind = 'json' | 'text';

/** A JSON object whose `JSON.stringify` is exactly `bytes` long (ASCII): rows of an order list, padded. */
export function jsonValue(bytes: number): Record<string, unknown> {
  const rows: Array<Record<string, unknown>> = [];
  const value: Record<string, unknown> = { id: 'rep_8f3a2c', generatedAt: '2026-11-21T10:00:00.000Z', rows, pad: '' };
  for (let i = 0; ; i++) {
    const row = {
      id: `ord_${10_000 + i}`,
      customer: { id: `u_${(i * 7) % 97}`, name: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'][i % 3] },
      total: Math.round((19.99 + i * 7.31) * 100) / 100,
      currency: 'EUR',
      status: i % 3 === 0 ? 'shipped' : 'delivered',
      items: (i % 5) + 1,
    };
    rows.push(row);
    if (JSON.stringify(value).length > bytes) {
      rows.pop();
      break;
    }
  }
  value.pad = 'x'.repeat(bytes - JSON.stringify(value).length);
  if (JSON.stringify(value).length !== bytes) throw new Error(`jsonValue(${bytes}) is ${JSON.stringify(value).length} bytes`);
  return value;
}

/** An LLM-like markdown answer whose JSON string form is exactly `bytes` long. */
export function textValue(bytes: number): string {
  let text = llmText(bytes * 2, 7);
  // Cut on the serialized length (escapes count), then pad with spaces to the exact size.
  while (JSON.stringify(text).length > bytes) text = text.slice(0, text.length - Math.max(1, JSON.stringify(text).length - bytes));
  text += ' '.repeat(bytes - JSON.stringify(text).length);
  if (JSON.stringify(text).length !== bytes) throw new Error(`textValue(${bytes}) is ${JSON.stringify(text).length} bytes`);
  return text;
}

export function valueOf(kind: Kind, bytes: number): unknown {
  return kind === 'json' ? jsonValue(bytes) : textValue(bytes);
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

const RAW = 'ioredis GET + JSON.parse';
const HAND = 'hand-written get→factory→set';

async function l2Peers(ctx: BenchContext): Promise<Peer[]> {
  return [
    rawIoredis(ctx),
    await strata(ctx, 'l2'),
    // The codec every entry of 1 KiB and more was stored with before LZ4: before and after in one run.
    await strata(ctx, 'l2', { name: "Strata (compression: 'brotli')", options: { compression: 'brotli' } }),
    await bentocache(ctx, 'l2', false),
    await cacheable(ctx, 'l2', false),
    await cacheManager(ctx, 'l2', false),
  ];
}

async function missPeers(ctx: BenchContext): Promise<Peer[]> {
  const layout: Layout = 'tiered';
  return [
    { ...rawIoredis(ctx), name: HAND },
    await strata(ctx, layout),
    await strata(ctx, layout, { name: 'Strata (lock: false)', options: { lock: false } }),
    await strata(ctx, layout, { name: "Strata (compression: 'brotli')", options: { compression: 'brotli' } }),
    await bentocache(ctx, layout, false),
    await cacheable(ctx, layout, false),
    await cacheManager(ctx, layout, false),
  ];
}

async function closeAll(list: Peer[]): Promise<void> {
  for (const peer of list) await peer.close();
}

/** The best peer of a figure set (not Strata, not the hand-written limit) by median. */
function bestPeer(figures: Record<string, Figure>, exclude: (name: string) => boolean): string {
  return Object.values(figures)
    .filter((f) => !exclude(f.name))
    .sort((a, b) => b.median - a.median)[0].name;
}

/**
 * Stores the value and checks it reads back: a broken candidate would measure nothing. A few tries: on
 * a loaded machine a write can miss Strata's 250 ms command timeout, which is a miss, not a failure.
 */
async function stored(peer: Peer, key: string, value: unknown): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await peer.set(key, value);
    if (isDeepStrictEqual(await peer.get(key), value)) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`${peer.name} did not read back the value it stored`);
}

function list<T extends string | number>(env: string | undefined, all: readonly T[], parse: (s: string) => T): T[] {
  return env ? env.split(',').map(parse) : [...all];
}

export async function run(ctx: BenchContext): Promise<Section[]> {
  const sections: Section[] = [];
  const measure = { durationMs: ctx.quick ? 150 : 250, runs: ctx.quick ? 3 : 7 };
  const sizes = list(process.env.SIZES, SIZES, Number);
  const kinds = list<Kind>(process.env.KINDS, ['json', 'text'], (s) => s as Kind);
  const cases = (process.env.CASES ?? 'hit,miss').split(',');

  if (cases.includes('hit')) {
    const peers = await l2Peers(ctx);
    for (const kind of kinds) {
      for (const bytes of sizes) {
        const value = valueOf(kind, bytes);
        const key = `v:${kind}:${bytes}`;
        for (const peer of peers) await stored(peer, key, value);
        for (const concurrency of [1, 64]) {
          ctx.log(`L2 hit, ${kind} ${bytes} B, ${concurrency} in flight`);
          const figures = await compare(Object.fromEntries(peers.map((p) => [p.name, () => p.get(key)])), { ...measure, concurrency });
          const goals: GoalResult[] = [];
          if (concurrency === 64 && (bytes === 1024 || bytes === 16384)) {
            goals.push(
              goal(figures, 'Strata', RAW, 0.85, `L2 hit, ${kind} ${sizeLabel(bytes)}, 64 in flight: Strata ≥ 0.85× raw ioredis GET + JSON.parse`),
              goal(figures, 'Strata', 'bentocache', 1.3, `L2 hit, ${kind} ${sizeLabel(bytes)}, 64 in flight: Strata ≥ 1.3× bentocache`),
            );
          }
          sections.push(
            throughputSection(`L2-only hit, ${kind === 'json' ? 'JSON object' : 'LLM-like text'} of ${sizeLabel(bytes)}, ${concurrency} in flight`, figures, {
              description: `README defaults, Redis only (no L1); one key read over and over; first row: raw ioredis \`GET\` + \`JSON.parse\`.`,
              goals,
            }),
          );
        }
      }
    }
    await closeAll(peers);
  }

  if (cases.includes('miss')) {
    const peers = await missPeers(ctx);
    const missSizes = sizes.filter((s) => s === 1024 || s === 16384);
    for (const kind of kinds) for (const bytes of missSizes) {
      const value = valueOf(kind, bytes);
      const factory = async () => value;
      for (const concurrency of [1, 16]) {
        let n = 0;
        ctx.log(`getOrSet miss, ${kind} ${bytes} B, ${concurrency} in flight`);
        const figures = await compare(Object.fromEntries(peers.map((p) => [p.name, () => p.getOrSet(`miss:${kind}:${bytes}:${++n}`, factory)])), { ...measure, concurrency });
        const best = bestPeer(figures, (name) => name.startsWith('Strata') || name === HAND);
        const what = kind === 'json' ? 'JSON' : 'text';
        sections.push(
          throughputSection(`getOrSet miss (L1 + Redis), ${kind === 'json' ? 'JSON object' : 'LLM-like text'} of ${sizeLabel(bytes)}, ${concurrency} in flight`, figures, {
            description:
              'A new key every call, a factory that returns at once: a miss in both tiers, the factory, the write to L1 and Redis. ' +
              'Strata at its README defaults takes its cluster-wide stampede lock on every miss; the next row has it off; the peers have no ' +
              'cross-process lock. First row: a hand-written `GET`, factory, `SET PX` on Redis (no L1, no protection).',
            goals: [goal(figures, 'Strata', best, 1.0, `getOrSet miss, ${what} ${sizeLabel(bytes)}, ${concurrency} in flight, lock on: Strata ≥ 1.0× the best peer (${best})`)],
          }),
        );
      }
    }
    await closeAll(peers);
  }
  return sections;
}
