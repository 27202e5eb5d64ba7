import { EmbeddingError } from '../../core/errors';
import type { CacheService } from '../../cache.service';
import type { CacheStack } from '../../cache.stack';
import { digest } from '../../core/keys';
import { SingleFlight } from '../../core/single-flight';
import type { ResolvedSemanticOptions } from '../ai-cache.options';
import type { EmbeddingProvider } from '../embeddings/embedding.provider';
import { type GuardName, blockOf, blockingApplies, guardConflict } from './guards';
import { type PromptSignature, SIGNATURE_VERSION, decodeSignature, encodeSignature, signatureOf } from './prompt-signature';
import { lexicon } from './lexicon';
import { type IndexedVector, SignCoder, VectorIndex, normalize } from './vector-index';
import { MemoryVectorLog, SharedVectorLog, type VectorLog } from './vector-log';
import { decodeRecord, encodeRecord } from './vector-record';

/** A prompt made ready for the semantic cache: embedded, coded and analysed once, used for search and add. */
export interface SemanticProbe {
  readonly text: string;
  readonly unit: Float32Array;
  readonly vector: IndexedVector;
  readonly signature: PromptSignature;
}

export interface SemanticMatch {
  /** The caller key of the cached answer in the scope's cache view. */
  key: string;
  similarity: number;
  /** Opaque handle for `forget`. */
  slot: number;
}

export interface SemanticSearchResult {
  matches: SemanticMatch[];
  /** Candidates above the threshold that a guard refused. */
  rejected: GuardName[];
}

export interface SemanticSearchOptions {
  threshold?: number;
  /** How many matches to return at most. Default 3. */
  limit?: number;
}

/** Where a scope lives: the cache view (its prefix, namespace, tenant) and the scope's identity. */
export interface SemanticScope {
  readonly space: CacheService;
  /** Whatever must be equal for prompts to be compared (provider, model, operation, parameters…). */
  readonly id: string;
  /** Redis-backed when the view's named cache uses Redis. */
  readonly shared: boolean;
}

interface ScopeState {
  readonly logKey: string;
  readonly log: VectorLog;
  index: VectorIndex | undefined;
  /** The last log entry read. */
  cursor: string;
  /** When the last read started (the cache's clock); undefined: read on the next lookup. */
  syncedAt: number | undefined;
  lastUsed: number;
  lastSweep: number;
}

const READ_BATCH = 2000;
const PROBE_SLICE = 100;
const SWEEP_EVERY_MS = 60_000;
const DEFAULT_THRESHOLD = 0.9;

/**
 * The semantic side of the AI cache (usable on its own): prompts are embedded, and each scope (same
 * tenant, provider, model, operation and parameters) keeps its vectors in an append-only log, a Redis
 * Stream shared by every instance. Each instance mirrors the logs it uses in a `VectorIndex`, loaded on
 * first use and brought up to date with one `XRANGE` per lookup (usually empty). The index finds
 * candidates; the guards (see `guards.ts`) decide. The cached answers themselves stay in the cache
 * view, so their TTLs, tags and invalidations apply to semantic hits too: a vector whose answer is gone
 * finds nothing.
 */
export class SemanticCache {
  readonly threshold: number;
  private readonly scopes = new Map<string, ScopeState>();
  private readonly syncs = new SingleFlight();
  private readonly memoryLog = new MemoryVectorLog();
  private readonly redisLog: SharedVectorLog | undefined;
  private coder: SignCoder | undefined;
  private indexed = 0;
  readonly counters = { lookups: 0, rejected: {} as Partial<Record<GuardName, number>>, readErrors: 0 };

  constructor(
    private readonly stack: CacheStack,
    readonly embedder: EmbeddingProvider,
    private readonly options: ResolvedSemanticOptions,
    /** The longest an answer can live (ms): older log entries are trimmed. */
    private readonly maxAgeMs: number,
  ) {
    this.threshold = options.threshold ?? embedder.suggestedThreshold ?? DEFAULT_THRESHOLD;
    // The lexicon (WordNet lemmas, synonyms, typo repair) is read now, at startup, not on a first lookup
    // that would stall the event loop for a few hundred milliseconds while requests wait.
    if (options.enabled) lexicon();
    const shared = stack.shared('vectorLogs');
    this.redisLog = shared ? new SharedVectorLog(shared.l2, shared.store) : undefined;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Whether a text is short enough (and long enough) to be compared. */
  accepts(text: string | undefined): text is string {
    return text !== undefined && text.trim().length > 0 && text.length <= this.options.maxPromptLength;
  }

  async probe(text: string): Promise<SemanticProbe> {
    const [probe] = await this.probeMany([text]);
    return probe;
  }

  async probeMany(texts: readonly string[]): Promise<SemanticProbe[]> {
    const vectors = await this.embedder.embed(texts);
    if (vectors.length !== texts.length) throw new EmbeddingError(`embedder '${this.embedder.id}' returned ${vectors.length} vectors for ${texts.length} texts`);
    const probes: SemanticProbe[] = [];
    for (let i = 0; i < texts.length; i++) {
      // A warm-up of thousands of prompts yields now and then: timers (Redis timeouts, pings) keep running.
      if (i > 0 && i % PROBE_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const unit = normalize(Float32Array.from(vectors[i]));
      const coder = this.coderFor(unit.length);
      probes.push({ text: texts[i], unit, vector: coder.index(unit), signature: signatureOf(texts[i]) });
    }
    return probes;
  }

  /** Nearest cached prompts of the scope above the threshold that every guard accepts, best first. */
  async search(scope: SemanticScope, probe: SemanticProbe, options: SemanticSearchOptions = {}): Promise<SemanticSearchResult> {
    this.counters.lookups += 1;
    const state = this.state(scope);
    await this.sync(state);
    const index = state.index;
    if (index === undefined || index.dims !== probe.unit.length) return { matches: [], rejected: [] };
    const threshold = options.threshold ?? this.threshold;
    const limit = options.limit ?? 3;
    const now = this.stack.now();
    // Default guards: the blocking key finds every possible match in O(1); relaxed guards need the scan.
    const found = blockingApplies(this.options.guards)
      ? index.searchBlock(blockOf(probe.signature), probe.unit, { threshold, now })
      : index.search(probe.unit, probe.vector.code, { threshold, candidates: this.options.candidates, now });
    const matches: SemanticMatch[] = [];
    const rejected: GuardName[] = [];
    const seen = new Set<string>();
    for (const { slot, similarity } of found) {
      const key = index.keyOf(slot);
      if (seen.has(key)) continue; // the same answer indexed twice (re-stored after a refresh)
      const guards = this.options.guards;
      const stored = decodeSignature(index.signatureOf(slot));
      const conflict = guards === false ? undefined : stored === undefined ? 'substitutions' : guardConflict(probe.signature, stored, guards);
      if (conflict !== undefined) {
        rejected.push(conflict);
        this.counters.rejected[conflict] = (this.counters.rejected[conflict] ?? 0) + 1;
        continue;
      }
      seen.add(key);
      matches.push({ key, similarity, slot });
      if (matches.length >= limit) break;
    }
    return { matches, rejected };
  }

  /** Indexes a prompt whose answer was stored under `key` until `expiresAt`. */
  async add(scope: SemanticScope, probe: SemanticProbe, key: string, expiresAt: number): Promise<boolean> {
    return this.addMany(scope, [{ probe, key, expiresAt }]);
  }

  async addMany(scope: SemanticScope, items: ReadonlyArray<{ probe: SemanticProbe; key: string; expiresAt: number }>): Promise<boolean> {
    if (items.length === 0) return true;
    const state = this.state(scope);
    const records = items.map(({ probe, key, expiresAt }) =>
      encodeRecord({ key, expiresAt, signature: encodeSignature(probe.signature), block: blockOf(probe.signature), vector: probe.vector }),
    );
    const appended = await state.log.append(state.logKey, records, this.maxAgeMs);
    state.syncedAt = undefined; // this instance's own vectors are searchable on its next lookup
    return appended;
  }

  /** The answer behind a match is gone (expired, invalidated): skip this vector from now on, here. */
  forget(scope: SemanticScope, slot: number): void {
    this.scopes.get(this.logKeyOf(scope))?.index?.kill(slot);
  }

  /** Deletes scopes' logs everywhere and their indexes here (the logs of a tenant or a model being invalidated). */
  async drop(logKeys: readonly string[]): Promise<void> {
    for (const key of logKeys) this.dropLocal(key);
    await Promise.all([this.redisLog?.drop(logKeys), this.memoryLog.drop(logKeys)]);
  }

  /** The Redis key of a scope's log (also the key of its index in this instance). */
  logKeyOf(scope: SemanticScope): string {
    // The signature's version is part of it: prompts analysed another way are never compared.
    return scope.space.keyOf(`__sem.${digest(`${this.embedder.id}|${SIGNATURE_VERSION}|${scope.id}`)}`);
  }

  stats(): { indexed: number; scopes: number; indexBytes: number } {
    let bytes = 0;
    for (const state of this.scopes.values()) bytes += state.index?.approximateBytes ?? 0;
    return { indexed: this.indexed, scopes: this.scopes.size, indexBytes: bytes };
  }

  private state(scope: SemanticScope): ScopeState {
    const logKey = this.logKeyOf(scope);
    let state = this.scopes.get(logKey);
    if (state === undefined) {
      const log = scope.shared && this.redisLog ? this.redisLog : this.memoryLog;
      state = { logKey, log, index: undefined, cursor: '0-0', syncedAt: undefined, lastUsed: 0, lastSweep: this.stack.now() };
      this.scopes.set(logKey, state);
    }
    state.lastUsed = this.stack.now();
    return state;
  }

  /**
   * Reads what was appended since the last read, unless that was less than `syncInterval` ago;
   * concurrent lookups of a scope share one read.
   */
  private sync(state: ScopeState): Promise<void> {
    const now = this.stack.now();
    if (state.syncedAt !== undefined && now - state.syncedAt < this.options.syncInterval && !this.syncs.has(state.logKey)) return Promise.resolve();
    return this.syncs.run(state.logKey, async () => {
      state.syncedAt = now;
      for (;;) {
        const entries = await state.log.read(state.logKey, state.cursor, READ_BATCH);
        if (entries === undefined) {
          this.counters.readErrors += 1;
          return; // Redis unreachable: search what this instance already has
        }
        const now = this.stack.now();
        for (const [id, bytes] of entries) {
          state.cursor = id;
          const record = decodeRecord(bytes);
          if (record === undefined || record.expiresAt <= now) continue;
          state.index ??= new VectorIndex(record.vector.q.length);
          if (state.index.dims !== record.vector.q.length) continue;
          state.index.add(record.vector, record.key, record.signature, record.expiresAt, record.block);
          this.indexed += 1;
        }
        if (entries.length < READ_BATCH) break;
      }
      this.maintain(state);
    });
  }

  /** Expired vectors are swept now and then; an index mostly dead is rebuilt; past the memory bound, idle scopes go. */
  private maintain(state: ScopeState): void {
    const now = this.stack.now();
    const index = state.index;
    if (index !== undefined && now - state.lastSweep >= SWEEP_EVERY_MS) {
      state.lastSweep = now;
      const dead = index.sweep(now);
      if (dead > 1000 && dead > index.live) {
        const rebuilt = index.compact();
        this.indexed -= index.size - rebuilt.size;
        state.index = rebuilt;
      }
    }
    if (this.indexed <= this.options.maxIndexedEntries) return;
    const idle = [...this.scopes.values()].filter((s) => s !== state).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const victim of idle) {
      if (this.indexed <= this.options.maxIndexedEntries) break;
      this.dropLocal(victim.logKey);
    }
  }

  private dropLocal(logKey: string): void {
    const state = this.scopes.get(logKey);
    if (state === undefined) return;
    this.indexed -= state.index?.size ?? 0;
    this.scopes.delete(logKey);
  }

  private coderFor(dims: number): SignCoder {
    if (this.coder?.dims !== dims) this.coder = new SignCoder(dims);
    return this.coder;
  }
}
