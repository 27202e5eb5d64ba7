import type { CacheService } from '../cache.service';
import { toMs } from '../core/durations';
import { type AiCacheShared, type Outcome, type StoredAnswer, type ViewSettings, isStoredAnswer, pick } from './ai-cache.shared';
import type { RequestFingerprint } from './ai-request.key';
import { StreamNotRecordedError, type StreamRecording } from './ai-stream.recording';
import type { GetOrSetResult } from '../engine/engine.types';
import type { AiCacheResult, AiCallOptions, AiResponse, AiSavings, AiSkipReason } from './ai.types';
import type { SemanticCache, SemanticProbe, SemanticScope } from './semantic/semantic.cache';

/** What a lookup's run hands back: an answer to store, a semantic match, why nothing is stored, or nothing. */
export type Produced = StoredAnswer | SemanticFound | Skipped | typeof NOTHING;
export interface SemanticFound {
  readonly kind: 'semantic';
  readonly record: StoredAnswer;
  readonly key: string;
  readonly similarity: number;
}
export interface Skipped {
  readonly kind: 'skipped';
  readonly outcome: Outcome;
}
export interface Answer {
  readonly answer: GetOrSetResult<Produced>;
  /** This caller's factory ran (not a background refresh, not another caller's run). */
  readonly ran: boolean;
  readonly probe: SemanticProbe | undefined;
}
/** `lookup` calls nothing: its run only searches semantically. */
export const NOTHING = Object.freeze({ kind: 'nothing' as const });
/** The model's own response behind a stored answer (the record keeps only the fields worth keeping). */
const ORIGINAL = new WeakMap<StoredAnswer, AiResponse<unknown>>();

export function isSkipped(value: unknown): value is Skipped {
  return typeof value === 'object' && value !== null && (value as Skipped).kind === 'skipped';
}

/** An answer stays fresh for what the rules gave it (set on the record); grace is the named cache's. */
export function freshTtlOf(value: unknown): number {
  const record = value as StoredAnswer;
  return Math.max(1, record.freshUntil - record.createdAt);
}

/**
 * The answers of one `AiResponseCache` view: what a model call produces (the record to store, or why
 * not), what happens once it is stored (counted, the tenant remembered, indexed for semantic lookups),
 * the semantic search, and the accounting of hits.
 */
export class AiAnswers {
  constructor(
    private readonly shared: AiCacheShared,
    private readonly view: CacheService,
    private readonly settings: ViewSettings,
  ) {}

  /** A semantic match in the request's scope, or the probe to index the answer with. */
  async findSemantic(fp: RequestFingerprint, options: AiCallOptions): Promise<{ found?: SemanticFound; probe?: SemanticProbe }> {
    const semantic = this.semanticFor(options);
    if (semantic === undefined || !semantic.accepts(fp.semanticText)) return {};
    this.shared.counters.semanticLookups += 1;
    try {
      const probe = await semantic.probe(fp.semanticText);
      const scope = this.scopeOf(fp);
      const { matches } = await semantic.search(scope, probe, { threshold: options.threshold });
      if (matches.length === 0) return { probe };
      const records = await this.view.getMany<StoredAnswer>(matches.map((m) => m.key));
      const now = this.shared.stack.now();
      for (let i = 0; i < matches.length; i++) {
        const candidate = records[i];
        if (isStoredAnswer(candidate) && candidate.freshUntil > now) return { found: { kind: 'semantic', record: candidate, key: matches[i].key, similarity: matches[i].similarity } };
        semantic.forget(scope, matches[i].slot);
      }
      return { probe };
    } catch (error) {
      this.shared.warnOnce('embed', `AI cache: semantic lookup failed, serving exact matches only: ${String(error)}`);
      return {};
    }
  }

  hit(status: 'exact' | 'stale' | 'semantic', fp: RequestFingerprint, record: StoredAnswer, key: string, similarity?: number): AiCacheResult<unknown> {
    const usage = record.response.usage;
    const saved: AiSavings = {
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      cost: record.cost,
      latencyMs: record.latencyMs,
    };
    this.shared.counters.hit(status, record.response.model ?? fp.model, saved, similarity);
    // The cache stack's metrics (Prometheus, dashboard): money and tokens saved, semantic similarity.
    const telemetry = this.shared.stack.telemetry;
    telemetry.recordSavings(this.settings.name, { tokens: saved.promptTokens + saved.completionTokens, cost: saved.cost });
    if (status === 'semantic' && similarity !== undefined) telemetry.recordSemanticHit(this.settings.name, Math.min(1, Math.max(0, similarity)));
    return { response: record.response, status, similarity, key, saved, age: Math.max(0, this.shared.stack.now() - record.createdAt) };
  }

  async tooLong(call: () => Promise<AiResponse<unknown>>): Promise<Outcome> {
    this.shared.counters.calls += 1;
    this.shared.counters.skip('inputTooLong');
    return { response: await call(), stored: false, skipped: 'inputTooLong' };
  }

  /** The model's answer as it would be stored (not stored yet), or why it is not stored. */
  async callAndProduce(fp: RequestFingerprint, call: () => Promise<AiResponse<unknown>>, options: AiCallOptions): Promise<Produced> {
    this.shared.counters.calls += 1;
    const started = performance.now();
    const response = await call();
    return this.produce(fp, response, performance.now() - started, options);
  }

  /** A stream being recorded (readable by callers who join it), produced once it ended. */
  recorded(fp: RequestFingerprint, fullKey: string, recording: StreamRecording, options: AiCallOptions): Promise<Produced> {
    const { counters, streams } = this.shared;
    counters.calls += 1;
    streams.set(fullKey, recording);
    const clear = () => streams.get(fullKey) === recording && streams.delete(fullKey);
    const started = performance.now();
    return recording.result.then(
      (response): Produced => {
        clear();
        if (fp.inputLength > this.shared.options.maxInputLength) return this.skipped(response, 'inputTooLong');
        if (recording.tooLarge) return this.skipped(response, 'tooLarge');
        return this.produce(fp, response, performance.now() - started, options, recording.recordedTexts);
      },
      (error: unknown) => {
        clear();
        const reason = error instanceof StreamNotRecordedError ? error.reason : 'streamFailed';
        if (reason === 'streamFailed') counters.callErrors += 1;
        counters.skip(reason);
        throw error;
      },
    );
  }

  /** The record of an answer to store, or why it is not stored (the rules: errors, noCache, confidence…). */
  produce(fp: RequestFingerprint, response: AiResponse<unknown>, latencyMs: number, options: AiCallOptions, pieces?: string[]): Produced {
    const shared = this.shared;
    const reason = shared.policy.skipReason(response);
    if (reason !== undefined) return this.skipped(response, reason);
    const model = response.model ?? fp.model;
    const cost = shared.policy.cost(model, response.usage);
    const fresh = options.ttl === undefined ? shared.policy.freshTtl(fp.operation, model, response, cost, latencyMs) : toMs(options.ttl, 'ttl');
    const now = shared.stack.now();
    const record: StoredAnswer = { v: 1, response: pick(response), pieces, prompt: fp.semanticText?.slice(0, 500), createdAt: now, freshUntil: now + fresh, latencyMs: Math.round(latencyMs), cost };
    ORIGINAL.set(record, response);
    return record;
  }

  /** After the engine stored (or declined) what a run produced: the outcome; the run's own caller also indexes it. */
  async settled(fp: RequestFingerprint, produced: Produced, options: AiCallOptions, mine: boolean, probe?: SemanticProbe): Promise<Outcome> {
    if (!isStoredAnswer(produced)) return (produced as Skipped).outcome;
    if (mine) await this.afterStore(fp, produced, probe, options);
    return { response: ORIGINAL.get(produced) ?? produced.response, stored: true, freshUntil: produced.freshUntil };
  }

  /** A background refresh's answer: indexed alongside the engine's write (nobody waits for it). */
  refreshed(fp: RequestFingerprint, produced: Produced, options: AiCallOptions): Produced {
    if (isStoredAnswer(produced)) void this.afterStore(fp, produced, undefined, options).catch(() => undefined);
    return produced;
  }

  /** Stores what was produced outside the engine's getOrSet (`store`, `warmUp`, `refresh: true`). */
  async kept(fp: RequestFingerprint, produced: Produced, options: AiCallOptions, probe?: SemanticProbe): Promise<Outcome> {
    if (!isStoredAnswer(produced)) return (produced as Skipped).outcome;
    const shared = this.shared;
    const tags = ['ai', `ai:model:${fp.model}`, `ai:provider:${fp.provider}`, `ai:op:${fp.operation}`, ...(options.tags ?? [])];
    let stored: boolean;
    try {
      stored = await this.view.set(fp.key, produced, { ttl: freshTtlOf(produced), grace: this.settings.grace, tags });
    } catch (error) {
      if (shared.stack.options.strict) throw error;
      shared.warnOnce('write', `AI cache: an answer was not stored: ${String(error)}`);
      stored = false;
    }
    const response = ORIGINAL.get(produced) ?? produced.response;
    if (!stored) return this.skipped(response, 'notCacheable').outcome;
    await this.afterStore(fp, produced, probe, options);
    return { response, stored: true, freshUntil: produced.freshUntil };
  }

  async afterStore(fp: RequestFingerprint, record: StoredAnswer, probe: SemanticProbe | undefined, options: AiCallOptions): Promise<void> {
    this.shared.counters.stored += 1;
    if (this.settings.tenant !== undefined) await this.shared.registry.rememberTenant(this.tenantsKey(), this.settings.tenant);
    await this.index(fp, probe, options, record.freshUntil);
  }

  async index(fp: RequestFingerprint, probe: SemanticProbe | undefined, options: AiCallOptions, expiresAt: number): Promise<void> {
    const semantic = this.semanticFor(options);
    if (semantic === undefined || !semantic.accepts(fp.semanticText)) return;
    try {
      const ready = probe ?? (await semantic.probe(fp.semanticText));
      const scope = this.scopeOf(fp);
      await semantic.add(scope, ready, fp.key, expiresAt);
      this.shared.registry.rememberScope(this.view.keyOf('__semscopes'), semantic.logKeyOf(scope), fp.model);
    } catch (error) {
      this.shared.warnOnce('embed', `AI cache: an answer was stored but not indexed for semantic lookups: ${String(error)}`);
    }
  }

  skipped(response: AiResponse<unknown>, reason: AiSkipReason): Skipped {
    this.shared.counters.skip(reason);
    return { kind: 'skipped', outcome: { response, stored: false, skipped: reason } };
  }

  semanticFor(options: AiCallOptions | undefined): SemanticCache | undefined {
    const semantic = this.shared.semantic;
    if (semantic === undefined || !semantic.enabled) return undefined;
    const on = options?.semantic ?? this.settings.semantic;
    return on ? semantic : undefined;
  }

  scopeOf(fp: RequestFingerprint): SemanticScope {
    return { space: this.view, id: fp.scope, shared: this.shared.stack.policyOf(this.settings.name).useRedis };
  }

  /** One set of tenants per named cache, kept under its root view. */
  tenantsKey(): string {
    return this.settings.root.keyOf('__tenants');
  }
}
