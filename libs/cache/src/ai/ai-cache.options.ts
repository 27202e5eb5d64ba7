import { type Duration, describe, toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import type { EmbeddingProvider } from './embeddings/embedding.provider';
import type { SemanticGuardOptions } from './semantic/guards';
import type { AiResponse } from './ai.types';

/** Price of a model per million tokens, in the currency you count in (USD in the examples). */
export interface ModelPrice {
  input: number;
  output: number;
}

/** What the adaptive TTL rule is given. */
export interface AdaptiveTtlContext {
  /** The TTL of the operation (ms). */
  baseTtl: number;
  operation: string;
  model: string;
  response: AiResponse<unknown>;
  /** What the call cost, from the price table (0 for a model without a price). */
  cost: number;
  latencyMs: number;
}

export type AdaptiveTtl = (context: AdaptiveTtlContext) => number;

export interface SemanticCacheOptions {
  /** Default true (when the `semantic` object is given). */
  enabled?: boolean;
  /**
   * Cosine similarity from which a cached prompt may answer (the guards still have to agree). Default:
   * the embedder's `suggestedThreshold`, or 0.85 for the built-in local embedder (measured on the
   * labelled pairs, see the README) and 0.9 for any other.
   */
  threshold?: number;
  /** Which guards must agree before a similar prompt's answer is served; `false` turns them all off (not advised). */
  guards?: SemanticGuardOptions | false;
  /** Longer prompts (characters) are only cached exactly. Default 2000. */
  maxPromptLength?: number;
  /** The embedder. Default: `LocalEmbeddingProvider` (no network). Can also be provided under `EMBEDDING_PROVIDER`. */
  embedder?: EmbeddingProvider;
  /** Vectors this instance keeps in memory over all scopes; least recently used scopes are dropped past it. Default 1,000,000. */
  maxIndexedEntries?: number;
  /** How many nearest vectors (by sign code) get the exact comparison. Default 128. */
  candidates?: number;
  /**
   * A lookup reads what other instances appended to its scope unless this instance did so less than
   * this long ago (its own appends are seen at once). `0`: on every lookup. Default `'50ms'`.
   */
  syncInterval?: Duration;
}

export interface AiCacheModuleOptions {
  /** The named cache that holds the answers (declare it in `CacheModule.forRoot({ caches })`). Default `'ai'`. */
  cache?: string | undefined;
  /** Provider name for requests that do not say. Default `'default'`. */
  provider?: string | undefined;
  /**
   * TTL by operation; `default` for the others. Defaults: summarize 2 h, sentiment 24 h, qa 30 min,
   * classify 24 h, extract 24 h, translate 7 d, transcribe 30 d, completion 1 h, chat 30 min, default 1 h.
   */
  ttl?: Record<string, Duration> | undefined;
  /**
   * Lengthen or shorten the TTL from the answer. `true` (default): ×2 for confidence ≥ 0.9, ×0.5 under
   * 0.7, ×2 for costly answers (cost ≥ `costlyAbove` or ≥ 2,000 tokens or ≥ 5 s); then capped by `maxTtl`.
   * A function replaces the rule; `false` keeps the operation's TTL.
   */
  adaptiveTtl?: boolean | AdaptiveTtl | undefined;
  /** An answer costing at least this much counts as costly for the adaptive TTL. Default 0.01. */
  costlyAbove?: number | undefined;
  /** No answer is kept fresh longer than this. Default `'7d'`. */
  maxTtl?: Duration | undefined;
  /** How long a stale answer may still be served while it is refreshed. Default: the named cache's `grace`. */
  grace?: Duration | undefined;
  /** Answers with a `confidence` under this are not cached. Default 0 (all). */
  minConfidence?: number | undefined;
  /** Requests whose prompt and messages exceed this many characters are not cached. Default 100,000. */
  maxInputLength?: number | undefined;
  /** Answers larger than this (bytes of JSON) are not cached. Default 1 MiB. */
  maxResponseBytes?: number | undefined;
  /** Fold case in prompts before hashing. Default false: case can change the meaning. */
  normalizeCase?: boolean | undefined;
  /** Request fields that never change the answer, left out of the key. Default: request ids, timestamps, user ids, stream flags, metadata. */
  ignoreParams?: string[] | undefined;
  /** Keep the user id (`user`, `userId`, `user_id`) in the key: each user gets their own answers. Default false. */
  includeUser?: boolean | undefined;
  /** Prices per million tokens by model (an exact name, or a prefix: `'gpt-4o'` prices `'gpt-4o-2024-08-06'`). */
  prices?: Record<string, ModelPrice> | undefined;
  /** The semantic cache; `false` (or `{ enabled: false }`) for exact matching only. Default: on, local embedder. */
  semantic?: false | SemanticCacheOptions | undefined;
  /** Settings per named cache used through `aiCache.cache(name)`: `{ 'ai-legal': { semantic: false } }`. */
  caches?: Record<string, { semantic?: boolean }> | undefined;
}

export const DEFAULT_OPERATION_TTLS: Readonly<Record<string, Duration>> = {
  summarize: '2h',
  sentiment: '24h',
  qa: '30m',
  classify: '24h',
  extract: '24h',
  translate: '7d',
  transcribe: '30d',
  completion: '1h',
  chat: '30m',
  default: '1h',
};

export const DEFAULT_IGNORED_PARAMS = [
  'requestId', 'request_id', 'timestamp', 'createdAt', 'created_at', 'user', 'userId', 'user_id', 'stream',
  'stream_options', 'streamOptions', 'metadata', 'store', 'traceId', 'trace_id',
];
const USER_PARAMS = new Set(['user', 'userId', 'user_id']);

export interface ResolvedSemanticOptions {
  enabled: boolean;
  threshold: number | undefined;
  guards: SemanticGuardOptions | false;
  maxPromptLength: number;
  embedder: EmbeddingProvider | undefined;
  maxIndexedEntries: number;
  candidates: number;
  syncInterval: number;
}

export interface ResolvedAiCacheOptions {
  cache: string;
  provider: string;
  ttl: ReadonlyMap<string, number>;
  adaptiveTtl: AdaptiveTtl | undefined;
  costlyAbove: number;
  maxTtl: number;
  grace: number | undefined;
  minConfidence: number;
  maxInputLength: number;
  maxResponseBytes: number;
  normalizeCase: boolean;
  ignoreParams: ReadonlySet<string>;
  prices: ReadonlyMap<string, ModelPrice>;
  semantic: ResolvedSemanticOptions;
  caches: ReadonlyMap<string, { semantic?: boolean }>;
}

const KNOWN = new Set([
  'cache', 'provider', 'ttl', 'adaptiveTtl', 'costlyAbove', 'maxTtl', 'grace', 'minConfidence', 'maxInputLength',
  'maxResponseBytes', 'normalizeCase', 'ignoreParams', 'includeUser', 'prices', 'semantic', 'caches', 'isGlobal',
]);
// A record, so that a guard added to SemanticGuardOptions and not here fails to compile.
const GUARD_NAMES: Record<keyof SemanticGuardOptions, true> = {
  numbers: true, operators: true, symbols: true, negation: true, person: true, quotes: true, code: true, entities: true, relations: true,
  tense: true, substitutions: true, maxAddedWords: true, typos: true, order: true,
};
const KNOWN_GUARDS = new Set(Object.keys(GUARD_NAMES));
const KNOWN_SEMANTIC = new Set(['enabled', 'threshold', 'guards', 'maxPromptLength', 'embedder', 'maxIndexedEntries', 'candidates', 'syncInterval']);

/** Checks `AiCacheModule.forRoot()` options once, at startup, each mistake with a message that says how to fix it. */
export function resolveAiOptions(input: AiCacheModuleOptions | undefined): ResolvedAiCacheOptions {
  const options = input ?? {};
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`AiCacheModule.forRoot() takes an options object, e.g. { cache: 'ai' }; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`unknown AiCacheModule option '${key}'; known options: ${[...KNOWN].join(', ')}`);
  }
  const ttl = new Map<string, number>();
  for (const [operation, value] of Object.entries({ ...DEFAULT_OPERATION_TTLS, ...(options.ttl ?? {}) })) {
    ttl.set(operation, toMs(value, `ttl.${operation}`));
  }
  const include = bool(options.includeUser ?? false, 'includeUser');
  const ignored = options.ignoreParams ?? DEFAULT_IGNORED_PARAMS;
  if (!Array.isArray(ignored) || ignored.some((p) => typeof p !== 'string')) {
    throw new InvalidOptionError(`ignoreParams must be a list of field names, e.g. ['requestId', 'timestamp']; got ${describe(ignored)}`);
  }
  const costlyAbove = nonNegative(options.costlyAbove ?? 0.01, 'costlyAbove', '0.01');
  return {
    cache: text(options.cache ?? 'ai', 'cache', "'ai'"),
    provider: text(options.provider ?? 'default', 'provider', "'openai'"),
    ttl,
    adaptiveTtl: resolveAdaptive(options.adaptiveTtl, costlyAbove),
    costlyAbove,
    maxTtl: toMs(options.maxTtl ?? '7d', 'maxTtl'),
    grace: options.grace === undefined ? undefined : toMs(options.grace, 'grace', { allowZero: true }),
    minConfidence: unit(options.minConfidence ?? 0, 'minConfidence', '0.7'),
    maxInputLength: positiveInt(options.maxInputLength ?? 100_000, 'maxInputLength', '100_000'),
    maxResponseBytes: positiveInt(options.maxResponseBytes ?? 1024 * 1024, 'maxResponseBytes', '1024 * 1024'),
    normalizeCase: bool(options.normalizeCase ?? false, 'normalizeCase'),
    ignoreParams: new Set(ignored.filter((p) => !(include && USER_PARAMS.has(p)))),
    prices: resolvePrices(options.prices),
    semantic: resolveSemantic(options.semantic),
    caches: resolveCaches(options.caches),
  };
}

function resolveAdaptive(value: AiCacheModuleOptions['adaptiveTtl'], costlyAbove: number): AdaptiveTtl | undefined {
  if (value === undefined || value === true) return (context) => defaultAdaptiveTtl(context, costlyAbove);
  if (value === false) return undefined;
  if (typeof value === 'function') return value;
  throw new InvalidOptionError(`adaptiveTtl must be true, false or a function (context) => ttlMs; got ${describe(value)}`);
}

/** ×2 for confident answers, ×0.5 for unsure ones, ×2 for costly ones (capped by maxTtl by the caller). */
export function defaultAdaptiveTtl(context: AdaptiveTtlContext, costlyAbove = 0.01): number {
  let ttl = context.baseTtl;
  const confidence = context.response.confidence;
  if (confidence !== undefined) {
    if (confidence >= 0.9) ttl *= 2;
    else if (confidence < 0.7) ttl *= 0.5;
  }
  const usage = context.response.usage;
  const tokens = usage ? usage.promptTokens + usage.completionTokens : 0;
  if (context.cost >= costlyAbove || tokens >= 2000 || context.latencyMs >= 5000) ttl *= 2;
  return ttl;
}

function resolveSemantic(value: AiCacheModuleOptions['semantic']): ResolvedSemanticOptions {
  const off: ResolvedSemanticOptions = {
    enabled: false, threshold: undefined, guards: {}, maxPromptLength: 2000, embedder: undefined, maxIndexedEntries: 1_000_000, candidates: 128,
    syncInterval: 50,
  };
  if (value === false) return off;
  const semantic = value ?? {};
  if (typeof semantic !== 'object' || semantic === null) {
    throw new InvalidOptionError(`semantic must be false or an object such as { threshold: 0.9 }; got ${describe(semantic)}`);
  }
  for (const key of Object.keys(semantic)) {
    if (!KNOWN_SEMANTIC.has(key)) throw new InvalidOptionError(`unknown option 'semantic.${key}'; known: ${[...KNOWN_SEMANTIC].join(', ')}`);
  }
  const embedder = semantic.embedder;
  if (embedder !== undefined && (typeof embedder !== 'object' || typeof embedder.embed !== 'function' || typeof embedder.id !== 'string')) {
    throw new InvalidOptionError(`semantic.embedder must implement EmbeddingProvider ({ id, embed(texts) }), e.g. new LocalEmbeddingProvider()`);
  }
  const guards = semantic.guards ?? {};
  if (guards !== false && (typeof guards !== 'object' || guards === null)) {
    throw new InvalidOptionError(`semantic.guards must be false or an object such as { numbers: true }; got ${describe(guards)}`);
  }
  if (guards !== false) {
    for (const [name, value] of Object.entries(guards)) {
      if (!KNOWN_GUARDS.has(name)) throw new InvalidOptionError(`unknown semantic guard '${name}'; known guards: ${[...KNOWN_GUARDS].join(', ')}`);
      const ok = name === 'maxAddedWords' ? Number.isInteger(value) && (value as number) >= 0 : typeof value === 'boolean';
      if (!ok) throw new InvalidOptionError(`semantic.guards.${name} must be ${name === 'maxAddedWords' ? 'a whole number of 0 or more, e.g. 1' : 'true or false'}; got ${describe(value)}`);
    }
  }
  return {
    enabled: bool(semantic.enabled ?? true, 'semantic.enabled'),
    threshold: semantic.threshold === undefined ? undefined : unit(semantic.threshold, 'semantic.threshold', '0.9'),
    guards,
    maxPromptLength: positiveInt(semantic.maxPromptLength ?? 2000, 'semantic.maxPromptLength', '2000'),
    embedder,
    maxIndexedEntries: positiveInt(semantic.maxIndexedEntries ?? 1_000_000, 'semantic.maxIndexedEntries', '1_000_000'),
    candidates: positiveInt(semantic.candidates ?? 128, 'semantic.candidates', '128'),
    syncInterval: toMs(semantic.syncInterval ?? 50, 'semantic.syncInterval', { allowZero: true }),
  };
}

function resolvePrices(prices: AiCacheModuleOptions['prices']): Map<string, ModelPrice> {
  const map = new Map<string, ModelPrice>();
  for (const [model, price] of Object.entries(prices ?? {})) {
    if (typeof price !== 'object' || price === null || !(price.input >= 0) || !(price.output >= 0)) {
      throw new InvalidOptionError(`prices.${model} must be { input, output } per million tokens, e.g. { input: 2.5, output: 10 }; got ${describe(price)}`);
    }
    map.set(model, { input: price.input, output: price.output });
  }
  return map;
}

function resolveCaches(caches: AiCacheModuleOptions['caches']): Map<string, { semantic?: boolean }> {
  const map = new Map<string, { semantic?: boolean }>();
  for (const [name, settings] of Object.entries(caches ?? {})) {
    if (typeof settings !== 'object' || settings === null || Object.keys(settings).some((k) => k !== 'semantic')) {
      throw new InvalidOptionError(`caches.${name} takes { semantic?: boolean }; got ${describe(settings)}`);
    }
    map.set(name, { semantic: settings.semantic === undefined ? undefined : bool(settings.semantic, `caches.${name}.semantic`) });
  }
  return map;
}

function text(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(`${option} must be a non-empty string such as ${example}; got ${describe(value)}`);
  return value;
}

function bool(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${option} must be true or false; got ${describe(value)}`);
  return value;
}

function unit(value: unknown, option: string, example: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new InvalidOptionError(`${option} must be a number from 0 to 1, e.g. ${example}; got ${describe(value)}`);
  return value;
}

function nonNegative(value: unknown, option: string, example: string): number {
  if (typeof value !== 'number' || !(value >= 0)) throw new InvalidOptionError(`${option} must be a number of at least 0, e.g. ${example}; got ${describe(value)}`);
  return value;
}

function positiveInt(value: unknown, option: string, example: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionError(`${option} must be a positive whole number, e.g. ${example}; got ${describe(value)}`);
  }
  return value;
}
