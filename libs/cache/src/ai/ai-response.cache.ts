import { InvalidArgumentError, InvalidKeyError } from '../core/errors';
import type { CacheService } from '../cache.service';
import type { FactoryContext, GetOrSetResult } from '../engine/engine.types';
import { indexWarmedAnswers } from './ai-warm-up';
import { type Answer, AiAnswers, NOTHING, type Produced, type Skipped, freshTtlOf, isSkipped } from './ai-answers';
import { type AiCacheShared, type Outcome, type StoredAnswer, type ViewSettings, isStoredAnswer, viewSettings } from './ai-cache.shared';
import { type RequestFingerprint, fingerprint } from './ai-request.key';
import { type StreamSource, StreamRecording, collect, replay } from './ai-stream.recording';
import type { AiCacheResult, AiCacheStats, AiCallOptions, AiRequest, AiResponse, AiStreamResult } from './ai.types';
import type { SemanticProbe } from './semantic/semantic.cache';

/**
 * Caches model answers. `getOrCall(request, () => callTheModel())` looks the answer up exactly (same
 * provider, model, operation, normalized prompt and answer-changing parameters), then semantically (a
 * similar prompt in the same scope, see `SemanticCache`), and calls the model on a miss, once for all
 * concurrent identical requests, storing the answer when the rules allow. `stream()` does the same for
 * streamed answers, recording them as they stream. `forTenant(id)` and `cache(name)` return views on
 * the same state and counters.
 */
export class AiResponseCache {
  private readonly answers: AiAnswers;

  constructor(
    private readonly shared: AiCacheShared,
    private readonly view: CacheService,
    private readonly settings: ViewSettings,
  ) {
    this.answers = new AiAnswers(shared, view, settings);
  }

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
    const model = () => this.answers.callAndProduce(fp, () => this.invoke(call), options);
    if (fp.inputLength > this.shared.options.maxInputLength) {
      counters.misses += 1;
      return this.missOf(fp, await this.answers.tooLong(() => this.invoke(call))) as AiCacheResult<T>;
    }
    if (!options.refresh) {
      const { answer, ran, probe } = await this.answer(fp, options, model);
      const found = this.found(fp, answer);
      if (found.hit !== undefined) return found.hit as AiCacheResult<T>;
      counters.misses += 1;
      if (!ran) counters.coalesced += 1;
      if (isStoredAnswer(answer.value) || isSkipped(answer.value)) return this.missOf(fp, await this.answers.settled(fp, answer.value, options, ran, probe)) as AiCacheResult<T>;
    } else {
      counters.misses += 1;
    }
    // A refresh, or the key holds something this cache did not write: the model answers, and it is stored.
    return this.missOf(fp, await this.answers.kept(fp, await model(), options)) as AiCacheResult<T>;
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
    const record = (background = false): Promise<Produced> => {
      // A background refresh has no reader: the model's stream is read to its end here.
      if (background) return this.answers.callAndProduce(fp, () => collect(call), options);
      const recording = new StreamRecording(call, this.shared.options.maxResponseBytes);
      started(recording);
      return this.answers.recorded(fp, fullKey, recording, options);
    };
    let outside = fp.inputLength > this.shared.options.maxInputLength || options.refresh === true;
    if (!outside) {
      const answering = this.answer(fp, options, record);
      answering.catch(() => undefined); // this caller streams; the failure is its stream's
      const first = await Promise.race([ran, answering]);
      if (first instanceof StreamRecording) {
        counters.misses += 1;
        void answering.then(({ answer, probe }) => isStoredAnswer(answer.value) ? this.answers.settled(fp, answer.value, options, true, probe) : undefined).catch(() => undefined);
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
          const response = (await this.answers.settled(fp, produced as StoredAnswer | Skipped, options, false)).response as AiResponse<string>;
          return { status: 'miss', key: fp.key, stream: replay(response, isStoredAnswer(produced) ? produced.pieces : undefined), response: Promise.resolve(response) };
        }
      }
    }
    if (outside) {
      // Not through the engine (input too long, a refresh, or a key holding something else): recorded, then stored.
      counters.misses += 1;
      void record().then((produced) => this.answers.kept(fp, produced, options)).catch(() => undefined);
    }
    const recording = await ran;
    return { status: 'miss', key: fp.key, stream: recording.read(), response: recording.result };
  }

  /**
   * The cached answer (exact, stale or semantic) without calling anything: undefined on a miss. A stale
   * answer is returned with status 'stale' (its refresh has no call to run, so it stores nothing). An
   * identical call in progress in this process is waited for, and its stored answer returned as exact.
   */
  async lookup<T = string>(request: AiRequest, options: AiCallOptions = {}): Promise<AiCacheResult<T> | undefined> {
    const counters = this.shared.counters;
    counters.requests += 1;
    const fp = this.fingerprint(request);
    let hit: AiCacheResult<unknown> | undefined;
    if (fp.inputLength <= this.shared.options.maxInputLength) {
      const { answer } = await this.answer(fp, options, async () => NOTHING);
      hit = this.found(fp, answer.status === 'miss' && isStoredAnswer(answer.value) ? { ...answer, status: 'hit' } : answer).hit;
    }
    if (hit === undefined) counters.misses += 1;
    return hit as AiCacheResult<T> | undefined;
  }

  /** Stores an answer you already have (rules apply as for `getOrCall`). Resolves whether it was stored. */
  async store<T>(request: AiRequest, response: AiResponse<T>, options: AiCallOptions & { latencyMs?: number } = {}): Promise<boolean> {
    const fp = this.fingerprint(request);
    if (fp.inputLength > this.shared.options.maxInputLength) return false;
    return (await this.answers.kept(fp, this.answers.produce(fp, response, options.latencyMs ?? 0, options), options)).stored;
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
    const outcomes = await Promise.all(prepared.map((p) => this.answers.kept(p.fp, this.answers.produce(p.fp, p.response, 0, { ttl: p.ttl }), { ttl: p.ttl, semantic: false })));
    const semantic = this.answers.semanticFor(undefined);
    if (semantic) {
      const answers = prepared.map((p, i) => ({ text: p.fp.semanticText, scope: this.answers.scopeOf(p.fp), scopeId: p.fp.scope, model: p.fp.model, key: p.fp.key, expiresAt: outcomes[i].freshUntil }));
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
  private async answer(fp: RequestFingerprint, options: AiCallOptions, produce: (background: boolean) => Promise<Produced>): Promise<Answer> {
    let ran = false;
    let probe: SemanticProbe | undefined;
    const factory = async (context: FactoryContext): Promise<Produced> => {
      if (context.background) return this.answers.refreshed(fp, await produce(true), options);
      ran = true;
      const semantic = await this.answers.findSemantic(fp, options);
      if (semantic.found !== undefined) return semantic.found;
      probe = semantic.probe;
      return produce(false);
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
      return { hit: this.answers.hit(stale ? 'stale' : 'exact', fp, value, fp.key), record: value };
    }
    if (typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'semantic') {
      const hit = this.answers.hit('semantic', fp, value.record, value.key, value.similarity);
      return { hit: { ...hit, matchedPrompt: value.record.prompt }, record: value.record };
    }
    return {};
  }

  private missOf(fp: RequestFingerprint, outcome: Outcome): AiCacheResult<unknown> {
    return { response: outcome.response, status: 'miss', key: fp.key, stored: outcome.stored, skipped: outcome.skipped };
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
    const tenants = await this.shared.registry.tenants(this.answers.tenantsKey());
    return [this, ...tenants.map((tenant) => this.forTenant(tenant))];
  }

}
