import type { GuardName } from './semantic/guards';

export interface AiMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
  /** Optional author name (OpenAI's `name`); part of the key. */
  name?: string;
}

/**
 * A call to a model, as the cache sees it. Everything here that can change the answer is part of the
 * key; fields listed in `ignoreParams` (request ids, timestamps, user ids…) are not.
 */
export interface AiRequest {
  /** 'openai', 'anthropic', 'local'… Default: the module's `provider`. */
  provider?: string;
  model: string;
  /** What is asked: 'summarize', 'sentiment', 'qa', 'completion'… Picks the TTL. Default 'completion'. */
  operation?: string;
  /** A single prompt… */
  prompt?: string;
  /** …or chat messages (the semantic cache compares the last user message; the rest must be equal). */
  messages?: readonly AiMessage[];
  /** The system prompt, if not among the messages. */
  system?: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  /** Tool (function) definitions. */
  tools?: readonly unknown[];
  /** `{ type: 'json_object' }`, a JSON schema… */
  responseFormat?: unknown;
  stop?: string | readonly string[];
  seed?: number;
  /** Any other parameter of the call; each one is part of the key unless listed in `ignoreParams`. */
  params?: Readonly<Record<string, unknown>>;
}

export interface AiUsage {
  promptTokens: number;
  completionTokens: number;
}

/** A model's answer, as it is cached. */
export interface AiResponse<T = string> {
  output: T;
  usage?: AiUsage;
  /** The model's confidence in the answer, 0–1, when it has one. Below `minConfidence` nothing is cached. */
  confidence?: number;
  /** The model that answered (may differ from the one asked). */
  model?: string;
  finishReason?: string;
  /** Set when the call failed in a way the model reported in its answer: never cached. */
  error?: unknown;
  /** The caller says: do not cache this answer. */
  noCache?: boolean;
}

/** One piece of a streamed answer. */
export interface AiStreamChunk {
  text: string;
  /** Token usage, usually on the last chunk. */
  usage?: AiUsage;
  finishReason?: string;
}

export type AiCacheStatus = 'miss' | 'exact' | 'semantic' | 'stale';

/** What `AiResponseCache.getOrCall` returns: the answer and how it was served. */
export interface AiCacheResult<T = string> {
  response: AiResponse<T>;
  status: AiCacheStatus;
  /** For semantic hits: the cosine similarity of the two prompts. */
  similarity?: number;
  /** For semantic hits: the cached prompt that matched. */
  matchedPrompt?: string;
  /** The cache key of the answer served (or stored). */
  key: string;
  /** Whether a miss was stored (false: an error, `noCache`, low confidence, too large…); why not, when not. */
  stored?: boolean;
  skipped?: AiSkipReason;
  /** For hits: what the hit saved. */
  saved?: AiSavings;
  /** How old the cached answer is (ms), for hits. */
  age?: number;
}

export interface AiStreamResult {
  status: AiCacheStatus;
  similarity?: number;
  key: string;
  /** The answer as a stream: live from the model on a miss, replayed from the cache on a hit. */
  stream: AsyncIterable<AiStreamChunk>;
  /** Resolves with the whole answer once the stream has ended (rejects if it failed). */
  response: Promise<AiResponse<string>>;
  saved?: AiSavings;
}

export interface AiSavings {
  promptTokens: number;
  completionTokens: number;
  /** Money, in the unit of the price table (USD by default). */
  cost: number;
  /** How long the original call took (ms). */
  latencyMs: number;
}

export type AiSkipReason = 'error' | 'noCache' | 'lowConfidence' | 'inputTooLong' | 'tooLarge' | 'streamFailed' | 'streamAbandoned' | 'notCacheable';

/** Per-call options of `getOrCall` and `stream`. */
export interface AiCallOptions {
  /** Look up and store semantically for this call. Default: the cache's setting. */
  semantic?: boolean | undefined;
  /** Similarity threshold for this call. */
  threshold?: number | undefined;
  /** Override the TTL for this answer. */
  ttl?: number | string | undefined;
  /** Extra tags for the stored answer. */
  tags?: readonly string[] | undefined;
  /** Skip the cache read (and still store the fresh answer). */
  refresh?: boolean | undefined;
}

export interface AiSemanticStats {
  lookups: number;
  hits: number;
  /** Candidates above the threshold that a guard refused, by guard. */
  rejected: Partial<Record<GuardName, number>>;
  /** Semantic hits by similarity bucket: '0.85', '0.90', '0.95', '0.99' (lower bounds). */
  similarity: Record<string, number>;
  /** Vectors held in this instance's indexes, and their scopes. */
  indexed: number;
  scopes: number;
  /** Approximate bytes of the indexes (typed arrays, keys and signatures). */
  indexBytes: number;
}

/** `AiResponseCache.stats()`: counts since startup, for this instance. */
export interface AiCacheStats {
  requests: number;
  hits: { exact: number; semantic: number; stale: number };
  misses: number;
  hitRate: number;
  /** Calls that reached the model, and those that threw. */
  calls: number;
  callErrors: number;
  /** Concurrent identical requests that waited for one call instead of making their own. */
  coalesced: number;
  stored: number;
  skipped: Partial<Record<AiSkipReason, number>>;
  saved: { promptTokens: number; completionTokens: number; tokens: number; cost: number; latencyMs: number };
  /** The same savings by model. */
  byModel: Record<string, { hits: number; tokens: number; cost: number }>;
  semantic: AiSemanticStats;
}
