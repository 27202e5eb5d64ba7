import { InvalidArgumentError, InvalidKeyError } from '../core/errors';
import type { CacheService } from '../cache.service';
import { toMs } from '../core/durations';
import { indexWarmedAnswers } from './ai-warm-up';
import { type AiCacheShared, type Outcome, type Pending, type StoredAnswer, type ViewSettings, isStoredAnswer, pick, viewSettings } from './ai-cache.shared';
import { type RequestFingerprint, fingerprint } from './ai-request.key';
import { type StreamSource, StreamNotRecordedError, StreamRecording, collect, replay, replayLater } from './ai-stream.recording';
import type { AiCacheResult, AiCacheStats, AiCallOptions, AiRequest, AiResponse, AiSavings, AiSkipReason, AiStreamResult } from './ai.types';
import type { SemanticCache, SemanticProbe, SemanticScope } from './semantic/semantic.cache';

type Lookup =
  | { hit: AiCacheResult<unknown>; record: StoredAnswer; probe?: undefined }
  | { hit?: undefined; record?: undefined; probe: SemanticProbe | undefined };

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
    if (fp.inputLength > this.shared.options.maxInputLength) {
      counters.misses += 1;
      counters.calls += 1;
      counters.skip('inputTooLong');
      const response = await this.invoke(call);
      return { response, status: 'miss', key: fp.key, stored: false, skipped: 'inputTooLong' };
    }
    const found = options.refresh ? { probe: undefined } : await this.find(fp, options);
    if (found.hit) {
      if (found.hit.status === 'stale') this.refreshInBackground(fp, () => this.invoke(call), options);
      return found.hit as AiCacheResult<T>;
    }
    counters.misses += 1;
    const fullKey = this.view.keyOf(fp.key);
    const pending = this.shared.pending.get(fullKey);
    if (pending !== undefined) {
      counters.coalesced += 1;
      const outcome = pending.recording ? await this.drain(pending.recording, pending.outcome) : await pending.outcome;
      return { response: outcome.response as AiResponse<T>, status: 'miss', key: fp.key, stored: outcome.stored, skipped: outcome.skipped };
    }
    const outcome = this.track(fullKey, { outcome: this.callAndStore(fp, () => this.invoke(call), found.probe, options) });
    const done = await outcome;
    return { response: done.response as AiResponse<T>, status: 'miss', key: fp.key, stored: done.stored, skipped: done.skipped };
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
    const cacheable = fp.inputLength <= this.shared.options.maxInputLength;
    const found = options.refresh || !cacheable ? { probe: undefined } : await this.find(fp, options);
    if (found.hit) {
      if (found.hit.status === 'stale') this.refreshInBackground(fp, () => collect(call), options);
      const { status, similarity, key, saved } = found.hit;
      const response = found.record.response as AiResponse<string>;
      return { status, similarity, key, saved, stream: replay(response, found.record.pieces), response: Promise.resolve(response) };
    }
    counters.misses += 1;
    const fullKey = this.view.keyOf(fp.key);
    const pending = this.shared.pending.get(fullKey);
    if (pending !== undefined) {
      counters.coalesced += 1;
      if (pending.recording) return { status: 'miss', key: fp.key, stream: pending.recording.read(), response: pending.recording.result };
      const response = pending.outcome.then((o) => o.response as AiResponse<string>);
      return { status: 'miss', key: fp.key, stream: replayLater(response), response };
    }
    counters.calls += 1;
    const recording = new StreamRecording(call, this.shared.options.maxResponseBytes);
    const started = performance.now();
    const outcome = recording.result.then(
      async (response): Promise<Outcome> => {
        if (!cacheable) return this.skipped(response, 'inputTooLong');
        if (recording.tooLarge) return this.skipped(response, 'tooLarge');
        return this.save(fp, response, performance.now() - started, found.probe, options, recording.recordedTexts);
      },
      (error: unknown) => {
        const reason = error instanceof StreamNotRecordedError ? error.reason : 'streamFailed';
        if (reason === 'streamFailed') counters.callErrors += 1;
        counters.skip(reason);
        throw error;
      },
    );
    this.track(fullKey, { outcome, recording }).catch(() => undefined);
    return { status: 'miss', key: fp.key, stream: recording.read(), response: recording.result };
  }

  /**
   * The cached answer (exact, stale or semantic) without calling anything: undefined on a miss. A stale
   * answer is returned with status 'stale' and not refreshed (there is no call to refresh it with).
   */
  async lookup<T = string>(request: AiRequest, options: AiCallOptions = {}): Promise<AiCacheResult<T> | undefined> {
    const counters = this.shared.counters;
    counters.requests += 1;
    const fp = this.fingerprint(request);
    const found = fp.inputLength > this.shared.options.maxInputLength ? { hit: undefined } : await this.find(fp, options);
    if (found.hit === undefined) counters.misses += 1;
    return found.hit as AiCacheResult<T> | undefined;
  }

  /** Stores an answer you already have (rules apply as for `getOrCall`). Resolves whether it was stored. */
  async store<T>(request: AiRequest, response: AiResponse<T>, options: AiCallOptions & { latencyMs?: number } = {}): Promise<boolean> {
    const fp = this.fingerprint(request);
    if (fp.inputLength > this.shared.options.maxInputLength) return false;
    return (await this.save(fp, response, options.latencyMs ?? 0, undefined, options)).stored;
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
    const outcomes = await Promise.all(prepared.map((p) => this.save(p.fp, p.response, 0, undefined, { ttl: p.ttl, semantic: false })));
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

  /** Exact, then semantic. A stale exact answer is returned as such (the caller refreshes it). */
  private async find(fp: RequestFingerprint, options: AiCallOptions): Promise<Lookup> {
    const record = await this.read(fp.key);
    const now = this.shared.stack.now();
    if (record !== undefined) {
      const status = record.freshUntil > now ? 'exact' : 'stale';
      return { hit: this.hit(status, fp, record, fp.key), record };
    }
    const semantic = this.semanticFor(options);
    if (semantic === undefined || !semantic.accepts(fp.semanticText)) return { probe: undefined };
    this.shared.counters.semanticLookups += 1;
    try {
      const probe = await semantic.probe(fp.semanticText);
      const scope = this.scopeOf(fp);
      const { matches } = await semantic.search(scope, probe, { threshold: options.threshold });
      if (matches.length === 0) return { probe };
      const records = await this.view.getMany<StoredAnswer>(matches.map((m) => m.key));
      for (let i = 0; i < matches.length; i++) {
        const candidate = records[i];
        if (isStoredAnswer(candidate) && candidate.freshUntil > now) {
          const hit = this.hit('semantic', fp, candidate, matches[i].key, matches[i].similarity);
          return { hit: { ...hit, matchedPrompt: candidate.prompt }, record: candidate };
        }
        semantic.forget(scope, matches[i].slot);
      }
      return { probe };
    } catch (error) {
      this.shared.warnOnce('embed', `AI cache: semantic lookup failed, serving exact matches only: ${String(error)}`);
      return { probe: undefined };
    }
  }

  private async read(key: string): Promise<StoredAnswer | undefined> {
    try {
      const value = await this.view.get<StoredAnswer>(key);
      return isStoredAnswer(value) ? value : undefined;
    } catch (error) {
      if (this.shared.stack.options.strict) throw error;
      this.shared.warnOnce('read', `AI cache: read failed, calling the model: ${String(error)}`);
      return undefined;
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

  private async callAndStore(
    fp: RequestFingerprint,
    call: () => Promise<AiResponse<unknown>>,
    probe: SemanticProbe | undefined,
    options: AiCallOptions,
  ): Promise<Outcome> {
    this.shared.counters.calls += 1;
    const started = performance.now();
    const response = await call();
    return this.save(fp, response, performance.now() - started, probe, options);
  }

  private async save(
    fp: RequestFingerprint,
    response: AiResponse<unknown>,
    latencyMs: number,
    probe: SemanticProbe | undefined,
    options: AiCallOptions,
    pieces?: string[],
  ): Promise<Outcome> {
    const shared = this.shared;
    const reason = shared.policy.skipReason(response);
    if (reason !== undefined) return this.skipped(response, reason);
    const model = response.model ?? fp.model;
    const cost = shared.policy.cost(model, response.usage);
    const fresh = options.ttl === undefined ? shared.policy.freshTtl(fp.operation, model, response, cost, latencyMs) : toMs(options.ttl, 'ttl');
    const now = shared.stack.now();
    const record: StoredAnswer = {
      v: 1,
      response: pick(response),
      pieces,
      prompt: fp.semanticText?.slice(0, 500),
      createdAt: now,
      freshUntil: now + fresh,
      latencyMs: Math.round(latencyMs),
      cost,
    };
    const tags = ['ai', `ai:model:${fp.model}`, `ai:provider:${fp.provider}`, `ai:op:${fp.operation}`, ...(options.tags ?? [])];
    let stored: boolean;
    try {
      stored = await this.view.set(fp.key, record, { ttl: fresh + this.settings.grace, grace: 0, tags });
    } catch (error) {
      if (shared.stack.options.strict) throw error;
      shared.warnOnce('write', `AI cache: an answer was not stored: ${String(error)}`);
      stored = false;
    }
    if (!stored) return this.skipped(response, 'notCacheable');
    shared.counters.stored += 1;
    if (this.settings.tenant !== undefined) await shared.registry.rememberTenant(this.tenantsKey(), this.settings.tenant);
    await this.index(fp, probe, options, record.freshUntil);
    return { response, stored: true, freshUntil: record.freshUntil };
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

  private skipped(response: AiResponse<unknown>, reason: AiSkipReason): Outcome {
    this.shared.counters.skip(reason);
    return { response, stored: false, skipped: reason };
  }

  private track(fullKey: string, pending: Pending): Promise<Outcome> {
    const pendingMap = this.shared.pending;
    pendingMap.set(fullKey, pending);
    const clear = () => {
      if (pendingMap.get(fullKey) === pending) pendingMap.delete(fullKey);
    };
    pending.outcome.then(clear, clear);
    return pending.outcome;
  }

  /** A non-streaming caller joins a stream in progress: it reads it to the end (so it is not abandoned). */
  private async drain(recording: StreamRecording, outcome: Promise<Outcome>): Promise<Outcome> {
    for await (const chunk of recording.read()) void chunk;
    return outcome;
  }

  private refreshInBackground(fp: RequestFingerprint, call: () => Promise<AiResponse<unknown>>, options: AiCallOptions): void {
    const fullKey = this.view.keyOf(fp.key);
    if (this.shared.refreshes.has(fullKey)) return;
    this.shared.refreshes
      .run(fullKey, () => this.callAndStore(fp, call, undefined, options))
      .catch((error: unknown) => this.shared.warnOnce(`refresh:${fp.key}`, `AI cache: background refresh failed: ${String(error)}`));
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
