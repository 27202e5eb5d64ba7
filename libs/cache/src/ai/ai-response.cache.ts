import { InvalidArgumentError, InvalidKeyError } from '../core/errors';
import type { CacheService } from '../cache.service';
import { toMs } from '../core/durations';
import type { FactoryContext, GetOrSetResult } from '../engine/engine.types';
import { indexWarmedAnswers } from './ai-warm-up';
import { type AiCacheShared, type Outcome, type StoredAnswer, type ViewSettings, isStoredAnswer, pick, viewSettings } from './ai-cache.shared';
import { type RequestFingerprint, fingerprint } from './ai-request.key';
import { type StreamSource, StreamNotRecordedError, StreamRecording, replay } from './ai-stream.recording';
import type { AiCacheResult, AiCacheStats, AiCallOptions, AiRequest, AiResponse, AiSavings, AiSkipReason, AiStreamResult } from './ai.types';
import type { SemanticCache, SemanticProbe, SemanticScope } from './semantic/semantic.cache';

/** What a lookup's run hands back: an answer to store, a semantic match, why nothing is stored, or nothing. */
type Produced = StoredAnswer | SemanticFound | Skipped | typeof NOTHING;
interface SemanticFound {
  readonly kind: 'semantic';
  readonly record: StoredAnswer;
  readonly key: string;
  readonly similarity: number;
}
interface Skipped {
  readonly kind: 'skipped';
  readonly outcome: Outcome;
}
interface Answer {
  readonly answer: GetOrSetResult<Produced>;
  /** This caller's factory ran (not a background refresh, not another caller's run). */
  readonly ran: boolean;
  readonly probe: SemanticProbe | undefined;
}
/** `lookup` calls nothing: its run only searches semantically. */
const NOTHING = Object.freeze({ kind: 'nothing' as const });
/** The model's own response behind a stored answer (the record keeps only the fields worth keeping). */
const ORIGINAL = new WeakMap<StoredAnswer, AiResponse<unknown>>();

function isSkipped(value: unknown): value is Skipped {
  return typeof value === 'object' && value !== null && (value as Skipped).kind === 'skipped';
}

/** An answer stays fresh for what the rules gave it (set on the record); grace is the named cache's. */
function freshTtlOf(value: unknown): number {
  const record = value as StoredAnswer;
  return Math.max(1, record.freshUntil - record.createdAt);
}

/**
 * Caches model answers. `getOrCall(request, () => callTheModel())` looks the answer up exactly (same
 * provider, model, operation, normalized prompt and answer-changing parameters), then semantically (a
 * similar prompt in the same scope, see `SemanticCache`), and calls the model on a miss, once for all
 * concurrent identical requests, storing the answer when the rules allow. `stream()` does the same for
 * streamed answers, recording them as they stream. `forTenant(id)` and `cache(name)` return views on
 * the same state and counters.
 */
export class AiResponseCache {
  constructor(
    private readonly shared: AiCacheShared,
    private readonly view: CacheService,
    private readonly settings: ViewSettings,
  ) {}

  /** The same cache for one tenant: its own keys, its own invalidations. */
  forTenant(tenant: string): AiResponseCache {
    if (typeof tenant !== 'string' || tenant.length === 0) throw new InvalidKeyError('forTenant: the tenant id', tenant);
    return new AiResponseCache(this.shared, this.view.forTenant(tenant), { ...this.settings, tenant });
  }

  /** The AI cache on another named cache (its own policy; semantic on or off per `caches` option). */
  cache(name: string): AiResponseCache {
    const settings = viewSettings(this.shared, name, this.settings.tenant);
    const view = settings.tenant === undefined ? settings.root : settings.root.forTenant(settings.tenant);
    return new AiResponseCache(this.shared, view, settings);
  }

  get tenant(): string | undefined {
    return this.settings.tenant;
  }

  /** The Redis key the answer to this request is stored under. */
  keyOf(request: AiRequest): string {
    return this.view.keyOf(this.fingerprint(request).key);
  }

  /**
   * The cached answer to `request`, or the model's (`call`), stored on the way out when cacheable.
   * A stale answer (within the named cache's grace) is served and refreshed in the background.
   * Cache faults never fail the call (unless the module is `strict`); `call`'s errors are passed
   * through and never cached. An embedder that fails makes the call exact-only.
   */
  async getOrCall<T = string>(
    request: AiRequest,
    call: () => Promise<AiResponse<T>> | AiResponse<T>,
    options: AiCallOptions = {},
  ): Promise<AiCacheResult<T>> {
    const counters = this.shared.counters;
    counters.requests += 1;
    const fp = this.fingerprint(request);
    const model = () => this.callAndProduce(fp, () => this.invoke(call), options);
    if (fp.inputLength > this.shared.options.maxInputLength) {
      counters.misses += 1;
      return this.missOf(fp, await this.tooLong(call)) as AiCacheResult<T>;
    }
    if (!options.refresh) {
      const { answer, ran, probe } = await this.answer(fp, options, model);
      const found = this.found(fp, answer);
      if (found.hit !== undefined) return found.hit as AiCacheResult<T>;
      counters.misses += 1;
      if (!ran) counters.coalesced += 1;
      if (isStoredAnswer(answer.value) || isSkipped(answer.value)) return this.missOf(fp, await this.settled(fp, answer.value, options, ran, probe)) as AiCacheResult<T>;
    } else {
      counters.misses += 1;
    }
    // A refresh, or the key holds something this cache did not write: the model answers, and it is stored.
    return this.missOf(fp, await this.kept(fp, await model(), options)) as AiCacheResult<T>;
  }

  /**
   * A streamed answer: replayed from the cache on a hit; on a miss, `call()`'s stream is recorded while
   * it streams to the caller (and to any identical request that arrives meanwhile) and stored once it
   * ended. A stream that fails midway, or that every reader leaves before the end, is not stored.
   */
  async stream(request: AiRequest, call: StreamSource, options: AiCallOptions = {}): Promise<AiStreamResult> {
    const counters = this.shared.counters;
    counters.requests += 1;
    const fp = this.fingerprint(request);
    const fullKey = this.view.keyOf(fp.key);
    const live = this.shared.streams.get(fullKey);
    if (live !== undefined) {
      counters.misses += 1;
      counters.coalesced += 1;
      return { status: 'miss', key: fp.key, stream: live.read(), response: live.result };
    }
    let started!: (recording: StreamRecording) => void;
    const ran = new Promise<StreamRecording>((resolve) => (started = resolve));
    const record = (): Promise<Produced> => {
      const recording = new StreamRecording(call, this.shared.options.maxResponseBytes);
      started(recording);
      return this.recorded(fp, fullKey, recording, options);
    };
    let outside = fp.inputLength > this.shared.options.maxInputLength || options.refresh === true;
    if (!outside) {
      const answering = this.answer(fp, options, record);
      answering.catch(() => undefined); // this caller streams; the failure is its stream's
      const first = await Promise.race([ran, answering]);
      if (first instanceof StreamRecording) {
        counters.misses += 1;
        void answering.then(({ answer, probe }) => isStoredAnswer(answer.value) ? this.settled(fp, answer.value, options, true, probe) : undefined).catch(() => undefined);
      } else {
        const found = this.found(fp, first.answer);
        if (found.hit !== undefined) {
          const { status, similarity, key, saved } = found.hit;
          const response = found.record!.response as AiResponse<string>;
          return { status, similarity, key, saved, stream: replay(response, found.record!.pieces), response: Promise.resolve(response) };
        }
        const produced = first.answer.value;
        outside = !isStoredAnswer(produced) && !isSkipped(produced);
        if (!outside) {
          // Another caller's run, ended by now: replayed from what it produced.
          counters.misses += 1;
          counters.coalesced += 1;
          const response = (await this.settled(fp, produced as StoredAnswer | Skipped, options, false)).response as AiResponse<string>;
          return { status: 'miss', key: fp.key, stream: replay(response, isStoredAnswer(produced) ? produced.pieces : undefined), response: Promise.resolve(response) };
        }
      }
    }
    if (outside) {
      // Not through the engine (input too long, a refresh, or a key holding something else): recorded, then stored.
      counters.misses += 1;
      void record().then((produced) => this.kept(fp, produced, options)).catch(() => undefined);
    }
    const recording = await ran;
    return { status: 'miss', key: fp.key, stream: recording.read(), response: recording.result };
  }

  /**
   * The cached answer (exact, stale or semantic) without calling anything: undefined on a miss. A stale
   * answer is returned with status 'stale' (its refresh has no call to run, so it stores nothing).
   */
  async lookup<T = string>(request: AiRequest, options: AiCallOptions = {}): Promise<AiCacheResult<T> | undefined> {
    const counters = this.shared.counters;
    counters.requests += 1;
    const fp = this.fingerprint(request);
    let hit: AiCacheResult<unknown> | undefined;
    if (fp.inputLength <= this.shared.options.maxInputLength) {
      hit = this.found(fp, (await this.answer(fp, options, async () => NOTHING)).answer).hit;
    }
    if (hit === undefined) counters.misses += 1;
    return hit as AiCacheResult<T> | undefined;
  }

  /** Stores an answer you already have (rules apply as for `getOrCall`). Resolves whether it was stored. */
  async store<T>(request: AiRequest, response: AiResponse<T>, options: AiCallOptions & { latencyMs?: number } = {}): Promise<boolean> {
    const fp = this.fingerprint(request);
    if (fp.inputLength > this.shared.options.maxInputLength) return false;
    return (await this.kept(fp, this.produce(fp, response, options.latencyMs ?? 0, options), options)).stored;
  }

  /**
   * Stores known answers ahead of traffic: `warmUp([{ input: request, output: response }])`. Semantic
   * vectors are embedded in one batch. Resolves how many were stored.
   */
  async warmUp(items: ReadonlyArray<{ input: AiRequest; output: AiResponse<unknown> | string; ttl?: number | string }>): Promise<number> {
    const prepared = items.map((item) => ({
      fp: this.fingerprint(item.input),
      response: typeof item.output === 'string' ? { output: item.output } : item.output,
      ttl: item.ttl,
    }));
    const outcomes = await Promise.all(prepared.map((p) => this.kept(p.fp, this.produce(p.fp, p.response, 0, { ttl: p.ttl }), { ttl: p.ttl, semantic: false })));
    const semantic = this.semanticFor(undefined);
    if (semantic) {
      const answers = prepared.map((p, i) => ({ text: p.fp.semanticText, scope: this.scopeOf(p.fp), scopeId: p.fp.scope, model: p.fp.model, key: p.fp.key, expiresAt: outcomes[i].freshUntil }));
      await indexWarmedAnswers(semantic, this.shared.registry, this.view.keyOf('__semscopes'), answers, (error) =>
        this.shared.warnOnce('embed', `AI cache: embedding failed, answers are cached exactly only: ${String(error)}`),
      );
    }
    return outcomes.filter((o) => o.stored).length;
  }

  /** Every answer of a model becomes a miss: in this tenant, or (from the root view) in every tenant. */
  async invalidateModel(model: string): Promise<void> {
    await Promise.all((await this.viewsToInvalidate()).map((v) => v.invalidateHere([`ai:model:${model}`], model)));
  }

  /** Every answer of one tenant becomes a miss, with its semantic vectors. */
  async invalidateTenant(tenant: string): Promise<void> {
    await this.forTenant(tenant).invalidateHere(['ai'], undefined);
  }

  /** Every answer of this view: this tenant, or (from the root view) every tenant. */
  async invalidateAll(): Promise<void> {
    await Promise.all((await this.viewsToInvalidate()).map((v) => v.invalidateHere(['ai'], undefined)));
  }

  stats(): AiCacheStats {
    const semantic = this.shared.semantic;
    const figures = semantic?.stats() ?? { indexed: 0, scopes: 0, indexBytes: 0 };
    return this.shared.counters.snapshot({ rejected: semantic?.counters.rejected ?? {}, ...figures });
  }

  private fingerprint(request: AiRequest): RequestFingerprint {
    const options = this.shared.options;
    return fingerprint(request, { defaultProvider: options.provider, normalizeCase: options.normalizeCase, ignoreParams: options.ignoreParams });
  }

  private async invoke<T>(call: () => Promise<AiResponse<T>> | AiResponse<T>): Promise<AiResponse<T>> {
    let response: AiResponse<T>;
    try {
      response = await call();
    } catch (error) {
      this.shared.counters.callErrors += 1;
      throw error;
    }
    if (typeof response !== 'object' || response === null || !('output' in response)) {
      throw new InvalidArgumentError('AI cache: the model call must resolve to { output, usage?, confidence?, ... }');
    }
    return response;
  }

  /**
   * The exact entry through the engine's getOrSet: a hit, a stale answer (refreshed in the background
   * with `produce`), or one run for every concurrent caller of the key: the semantic search, then
   * `produce`. `ran`: this caller's run (its post-store steps are this caller's to do).
   */
  private async answer(fp: RequestFingerprint, options: AiCallOptions, produce: () => Promise<Produced>): Promise<Answer> {
    let ran = false;
    let probe: SemanticProbe | undefined;
    const factory = async (context: FactoryContext): Promise<Produced> => {
      if (context.background) return this.refreshed(fp, await produce(), options);
      ran = true;
      const semantic = await this.findSemantic(fp, options);
      if (semantic.found !== undefined) return semantic.found;
      probe = semantic.probe;
      return produce();
    };
    const tags = ['ai', `ai:model:${fp.model}`, `ai:provider:${fp.provider}`, `ai:op:${fp.operation}`, ...(options.tags ?? [])];
    const answer = await this.view.getOrSetWithStatus<Produced>(fp.key, factory, { ttl: freshTtlOf, grace: this.settings.grace, tags, refreshAhead: false, unless: (value) => !isStoredAnswer(value) });
    return { answer, ran, probe };
  }

  /** A hit (exact, stale or semantic), counted, or nothing when the answer is a miss. */
  private found(fp: RequestFingerprint, answer: GetOrSetResult<Produced>): { hit?: AiCacheResult<unknown>; record?: StoredAnswer } {
    const value = answer.value;
    if (answer.status !== 'miss' && isStoredAnswer(value)) {
      // An entry stored with the grace inside its ttl (before the engine kept grace) says itself when it turns stale.
      const stale = answer.status === 'stale' || value.freshUntil <= this.shared.stack.now();
      return { hit: this.hit(stale ? 'stale' : 'exact', fp, value, fp.key), record: value };
    }
    if (typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'semantic') {
      const hit = this.hit('semantic', fp, value.record, value.key, value.similarity);
      return { hit: { ...hit, matchedPrompt: value.record.prompt }, record: value.record };
    }
    return {};
  }

  /** A semantic match in the request's scope, or the probe to index the answer with. */
  private async findSemantic(fp: RequestFingerprint, options: AiCallOptions): Promise<{ found?: SemanticFound; probe?: SemanticProbe }> {
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

  private hit(status: 'exact' | 'stale' | 'semantic', fp: RequestFingerprint, record: StoredAnswer, key: string, similarity?: number): AiCacheResult<unknown> {
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

  private missOf(fp: RequestFingerprint, outcome: Outcome): AiCacheResult<unknown> {
    return { response: outcome.response, status: 'miss', key: fp.key, stored: outcome.stored, skipped: outcome.skipped };
  }

  private async tooLong(call: () => Promise<AiResponse<unknown>> | AiResponse<unknown>): Promise<Outcome> {
    this.shared.counters.calls += 1;
    this.shared.counters.skip('inputTooLong');
    return { response: await this.invoke(call), stored: false, skipped: 'inputTooLong' };
  }

  /** The model's answer as it would be stored (not stored yet), or why it is not stored. */
  private async callAndProduce(fp: RequestFingerprint, call: () => Promise<AiResponse<unknown>>, options: AiCallOptions): Promise<Produced> {
    this.shared.counters.calls += 1;
    const started = performance.now();
    const response = await call();
    return this.produce(fp, response, performance.now() - started, options);
  }

  /** A stream being recorded (readable by callers who join it), produced once it ended. */
  private recorded(fp: RequestFingerprint, fullKey: string, recording: StreamRecording, options: AiCallOptions): Promise<Produced> {
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
  private produce(fp: RequestFingerprint, response: AiResponse<unknown>, latencyMs: number, options: AiCallOptions, pieces?: string[]): Produced {
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
  private async settled(fp: RequestFingerprint, produced: Produced, options: AiCallOptions, mine: boolean, probe?: SemanticProbe): Promise<Outcome> {
    if (!isStoredAnswer(produced)) return (produced as Skipped).outcome;
    if (mine) await this.afterStore(fp, produced, probe, options);
    return { response: ORIGINAL.get(produced) ?? produced.response, stored: true, freshUntil: produced.freshUntil };
  }

  /** A background refresh's answer: indexed alongside the engine's write (nobody waits for it). */
  private refreshed(fp: RequestFingerprint, produced: Produced, options: AiCallOptions): Produced {
    if (isStoredAnswer(produced)) void this.afterStore(fp, produced, undefined, options).catch(() => undefined);
    return produced;
  }

  /** Stores what was produced outside the engine's getOrSet (`store`, `warmUp`, `refresh: true`). */
  private async kept(fp: RequestFingerprint, produced: Produced, options: AiCallOptions, probe?: SemanticProbe): Promise<Outcome> {
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

  private async afterStore(fp: RequestFingerprint, record: StoredAnswer, probe: SemanticProbe | undefined, options: AiCallOptions): Promise<void> {
    this.shared.counters.stored += 1;
    if (this.settings.tenant !== undefined) await this.shared.registry.rememberTenant(this.tenantsKey(), this.settings.tenant);
    await this.index(fp, probe, options, record.freshUntil);
  }

  private async index(fp: RequestFingerprint, probe: SemanticProbe | undefined, options: AiCallOptions, expiresAt: number): Promise<void> {
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

  private skipped(response: AiResponse<unknown>, reason: AiSkipReason): Skipped {
    this.shared.counters.skip(reason);
    return { kind: 'skipped', outcome: { response, stored: false, skipped: reason } };
  }

  private semanticFor(options: AiCallOptions | undefined): SemanticCache | undefined {
    const semantic = this.shared.semantic;
    if (semantic === undefined || !semantic.enabled) return undefined;
    const on = options?.semantic ?? this.settings.semantic;
    return on ? semantic : undefined;
  }

  private scopeOf(fp: RequestFingerprint): SemanticScope {
    return { space: this.view, id: fp.scope, shared: this.shared.stack.policyOf(this.settings.name).useRedis };
  }

  private async invalidateHere(tags: string[], model: string | undefined): Promise<void> {
    await this.view.invalidateTags(tags);
    const semantic = this.shared.semantic;
    if (semantic === undefined) return;
    const logs = await this.shared.registry.takeScopes(this.view.keyOf('__semscopes'), model);
    await semantic.drop(logs);
  }

  private async viewsToInvalidate(): Promise<AiResponseCache[]> {
    if (this.settings.tenant !== undefined) return [this];
    const tenants = await this.shared.registry.tenants(this.tenantsKey());
    return [this, ...tenants.map((tenant) => this.forTenant(tenant))];
  }

  /** One set of tenants per named cache, kept under its root view. */
  private tenantsKey(): string {
    return this.settings.root.keyOf('__tenants');
  }
}
