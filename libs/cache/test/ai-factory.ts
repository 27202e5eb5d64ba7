import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  CACHE_CLOCK,
  CacheModule,
  type CacheModuleOptions,
  CacheService,
} from '../src';
import {
  AiCacheModule,
  type AiCacheModuleOptions,
  AiResponseCache,
  SemanticCache,
} from '../src/ai';

export interface AiApp {
  app: INestApplicationContext;
  ai: AiResponseCache;
  semantic: SemanticCache;
  cache: CacheService;
  clock: { now: number; advance(ms: number): void };
}

const silent = { log() {}, warn() {}, error() {} };

/**
 * Builds Nest application contexts with `CacheModule.forRoot` (an `ai` named cache unless given) and
 * `AiCacheModule.forRoot`, and closes them all in `closeAll()`.
 */
export class AiFactory {
  private readonly apps: INestApplicationContext[] = [];

  async create(
    cacheOptions: CacheModuleOptions,
    aiOptions: AiCacheModuleOptions = {},
    { fakeClock = false } = {},
  ): Promise<AiApp> {
    const clock = {
      now: Date.now(),
      advance(ms: number) {
        this.now += ms;
      },
    };
    let builder = Test.createTestingModule({
      imports: [
        CacheModule.forRoot({ logger: silent, caches: { ai: { ttl: '1h' } }, ...cacheOptions }),
        AiCacheModule.forRoot(aiOptions),
      ],
    });
    if (fakeClock) builder = builder.overrideProvider(CACHE_CLOCK).useValue(() => clock.now);
    const app = await (await builder.compile()).init();
    this.apps.push(app);
    return { app, ai: app.get(AiResponseCache), semantic: app.get(SemanticCache), cache: app.get(CacheService), clock };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.apps.splice(0).map((app) => app.close()));
  }
}

/** A fake model: counts calls, answers deterministically from the prompt. */
export class FakeModel {
  calls = 0;
  async complete(prompt: string, extra: Partial<{ confidence: number; error: string; noCache: boolean; model: string }> = {}) {
    this.calls += 1;
    return {
      output: `answer to: ${prompt}`,
      usage: { promptTokens: 100, completionTokens: 50 },
      ...extra,
    };
  }
}

/** A stream of chunks that can be told to fail after `failAfter` chunks, and that records whether it was closed early. */
export function fakeStream(pieces: readonly string[], options: { failAfter?: number; gate?: Promise<void> } = {}) {
  const state = { opened: 0, closedEarly: false, failed: false, yielded: 0 };
  const source = () => {
    state.opened += 1;
    return (async function* () {
      let done = false;
      try {
        for (let i = 0; i < pieces.length; i++) {
          if (options.failAfter !== undefined && i === options.failAfter) {
            state.failed = true;
            throw new Error('model stream broke');
          }
          if (i === 1 && options.gate) await options.gate;
          state.yielded += 1;
          const last = i === pieces.length - 1;
          yield last ? { text: pieces[i], usage: { promptTokens: 10, completionTokens: pieces.length }, finishReason: 'stop' } : { text: pieces[i] };
        }
        done = true;
      } finally {
        if (!done && !state.failed) state.closedEarly = true;
      }
    })();
  };
  return { source, state };
}

export async function readAll(stream: AsyncIterable<{ text: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of stream) out.push(chunk.text);
  return out;
}
