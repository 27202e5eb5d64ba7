import type { CacheService } from '../cache.service';
import type { CacheStack } from '../cache.stack';
import { InvalidOptionError } from '../core/errors';
import type { ResolvedAiCacheOptions } from './ai-cache.options';
import { AiCounters } from './ai-cache.counters';
import { AiCachePolicy } from './ai-cache.policy';
import { AiRegistry } from './ai-cache.registry';
import type { StreamRecording } from './ai-stream.recording';
import type { AiResponse, AiSkipReason } from './ai.types';
import type { SemanticCache } from './semantic/semantic.cache';

/** An answer as it is stored in the cache. */
export interface StoredAnswer {
  v: 1;
  response: AiResponse<unknown>;
  /** The pieces of a streamed answer, replayed as they came. */
  pieces?: string[];
  /** The compared text (prompt or last user message), for reporting semantic matches. */
  prompt?: string;
  createdAt: number;
  freshUntil: number;
  latencyMs: number;
  cost: number;
}

export interface Outcome {
  response: AiResponse<unknown>;
  stored: boolean;
  skipped?: AiSkipReason;
  /** Until when a stored answer is fresh. */
  freshUntil?: number;
}


/** What every view of one `AiCacheModule` shares. */
export class AiCacheShared {
  readonly counters = new AiCounters();
  /**
   * Model streams being recorded, by full key: a stream request that arrives meanwhile reads the same
   * recording from its first chunk. Which call runs is the engine's getOrSet (one per key).
   */
  readonly streams = new Map<string, StreamRecording>();
  readonly policy: AiCachePolicy;
  readonly registry: AiRegistry;
  private readonly warned = new Set<string>();

  constructor(
    readonly stack: CacheStack,
    /** The module's default `CacheService` view: named caches and tenants are views of it. */
    readonly base: CacheService,
    readonly options: ResolvedAiCacheOptions,
    readonly semantic: SemanticCache | undefined,
  ) {
    this.policy = new AiCachePolicy(options);
    this.registry = new AiRegistry(stack.shared('registry'), options.maxTtl * 2);
  }

  /** Logs a condition the first time it happens, not on every call (bounded: forgetting only means logging again). */
  warnOnce(condition: string, message: string): void {
    if (this.warned.has(condition)) return;
    if (this.warned.size >= 1000) this.warned.clear();
    this.warned.add(condition);
    this.stack.logger.warn(message);
  }
}

export interface ViewSettings {
  name: string;
  /** The named cache's view without a tenant (where the set of tenants is kept). */
  root: CacheService;
  tenant: string | undefined;
  semantic: boolean;
  /** Grace of the named cache (ms): how long a stale answer may be served while it is refreshed. */
  grace: number;
}

/** The settings of a view on a named cache; a clear startup error when the name was not declared. */
export function viewSettings(shared: AiCacheShared, name: string, tenant: string | undefined): ViewSettings {
  let root: CacheService;
  try {
    root = shared.base.cache(name);
  } catch (error) {
    throw new InvalidOptionError(
      `the AI cache stores answers in the named cache '${name}': declare it in CacheModule.forRoot({ caches: { '${name}': { ttl: '1h' } } })` +
        ` (with forRootAsync, also in cacheNames), or pass AiCacheModule.forRoot({ cache: '<a declared name>' }); ${String(error)}`,
    );
  }
  const semantic = shared.options.caches.get(name)?.semantic ?? shared.options.semantic.enabled;
  const grace = shared.options.grace ?? shared.stack.policyOf(name).grace;
  return { name, root, tenant, semantic, grace };
}

export function isStoredAnswer(value: unknown): value is StoredAnswer {
  return typeof value === 'object' && value !== null && (value as StoredAnswer).v === 1 && typeof (value as StoredAnswer).freshUntil === 'number';
}

/** The answer's fields worth keeping (not `noCache`, not `error`, nothing else a caller attached). */
export function pick(response: AiResponse<unknown>): AiResponse<unknown> {
  const out: AiResponse<unknown> = { output: response.output };
  if (response.usage !== undefined) out.usage = { promptTokens: response.usage.promptTokens, completionTokens: response.usage.completionTokens };
  if (response.confidence !== undefined) out.confidence = response.confidence;
  if (response.model !== undefined) out.model = response.model;
  if (response.finishReason !== undefined) out.finishReason = response.finishReason;
  return out;
}

