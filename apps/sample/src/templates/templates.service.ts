import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { CacheEvict, CacheService, CacheTags, CacheWarmer, Cacheable, InjectCache, type WarmEntry } from '@strata/cache';
import { EMBEDDING_PROVIDER, type EmbeddingProvider, cosineSimilarity } from '@strata/cache/ai';
import { stringify } from 'safe-stable-stringify';
import { Simulation, sha256 } from '../common/simulation';
import { Computed } from '../common/computed';
import { type Template, type TemplatePatch, TemplatesRepository } from './templates.repository';

export interface Served<T> {
  value: T;
  hit: boolean;
}

export interface TemplateScore {
  templateId: string;
  version: number;
  score: number;
  breakdown: { fit: number; completeness: number; tone: number };
}

/** Every cached result about a template carries `template:<id>`; results over the whole catalog carry `templates:catalog`. */
export const templateTag = (id: string) => `template:${id}`;
export const CATALOG_TAG = 'templates:catalog';

@Injectable()
export class TemplatesService {
  constructor(
    @InjectCache('templates') private readonly cache: CacheService,
    private readonly repository: TemplatesRepository,
    private readonly simulation: Simulation,
    @Inject(EMBEDDING_PROVIDER) private readonly embedder: EmbeddingProvider,
  ) {}

  list(): Promise<Template[]> {
    return this.repository.all();
  }

  /** The template itself, as the rest of the service reads it: cached until `update` drops it. */
  @Cacheable({ name: 'templates', key: 'template:{0}', ttl: '6h' })
  @CacheTags((id: string) => [templateTag(id)])
  async get(id: string): Promise<Template> {
    return this.repository.get(id);
  }

  /** Scores a template for a context (an object): cached by template id and a stable hash of the context (key order does not matter). */
  @Cacheable({ name: 'templates', key: 'score:{0}:{1}', ttl: '6h' })
  @CacheTags((id: string) => [templateTag(id)])
  async score(id: string, context: object): Promise<TemplateScore> {
    Computed.ran();
    const template = await this.get(id);
    const contextHash = sha256(stringify(context) ?? '').slice(0, 32);
    await this.simulation.work(0.5, `score:${id}:${template.version}:${contextHash}`);
    const bytes = Buffer.from(sha256(`${id}:${template.version}:${contextHash}`), 'hex');
    const fit = bytes[0] / 255;
    const completeness = bytes[1] / 255;
    const tone = bytes[2] / 255;
    return { templateId: id, version: template.version, score: Math.round(((fit + completeness + tone) / 3) * 1000) / 1000, breakdown: { fit, completeness, tone } };
  }

  /** Renders a template with data (an object): cached by template id and a stable hash of the data. */
  @Cacheable({ name: 'templates', key: 'render:{0}:{1}', ttl: '1h' })
  @CacheTags((id: string) => [templateTag(id)])
  async render(id: string, data: Record<string, unknown>): Promise<{ templateId: string; version: number; text: string }> {
    Computed.ran();
    const template = await this.get(id);
    await this.simulation.work(0.2, `render:${id}:${template.version}`);
    const text = template.body.replace(/\{\{(\w+)\}\}/g, (_, field: string) => (data[field] === undefined ? `{{${field}}}` : String(data[field])));
    return { templateId: id, version: template.version, text };
  }

  /** Templates of a category ranked by how many of the requirements they cover (through the injected cache: the key is built here). */
  match(category: unknown, requirements: unknown): Promise<Served<Array<{ id: string; covered: number; missing: string[] }>>> {
    if (typeof category !== 'string' || category.length === 0) throw new BadRequestException('send { category, requirements: [...] }');
    if (!Array.isArray(requirements) || !requirements.every((r) => typeof r === 'string')) throw new BadRequestException('requirements must be a list of strings');
    const wanted = [...new Set(requirements as string[])].sort();
    return this.served(
      `match:${category}:${sha256(wanted.join('\n')).slice(0, 32)}`,
      async () => {
        await this.simulation.work(0.3, `match:${category}:${wanted.join(',')}`);
        return (await this.repository.all())
          .filter((t) => t.category === category)
          .map((t) => ({ id: t.id, covered: wanted.filter((r) => t.requirements.includes(r)).length, missing: wanted.filter((r) => !t.requirements.includes(r)) }))
          .sort((a, b) => b.covered - a.covered || a.id.localeCompare(b.id));
      },
      { ttl: '1h', tags: [CATALOG_TAG] },
    );
  }

  /**
   * Templates closest in meaning to a free-text query: embeddings of name + description + category,
   * each cached per template version; the ranking cached per normalized query.
   */
  search(query: unknown, limit = 3): Promise<Served<Array<{ id: string; name: string; similarity: number }>>> {
    if (typeof query !== 'string' || query.trim().length === 0) throw new BadRequestException('send { query: "..." }');
    const normalized = query.trim().replace(/\s+/g, ' ').toLowerCase();
    return this.served(
      `search:${limit}:${sha256(normalized).slice(0, 32)}`,
      async () => {
        const [queryVector] = await this.embedder.embed([normalized]);
        const ranked = await Promise.all(
          (await this.repository.all()).map(async (t) => ({ id: t.id, name: t.name, similarity: cosineSimilarity(queryVector, await this.embedding(t)) })),
        );
        return ranked.sort((a, b) => b.similarity - a.similarity).slice(0, limit).map((r) => ({ ...r, similarity: Math.round(r.similarity * 10_000) / 10_000 }));
      },
      { ttl: '1h', tags: [CATALOG_TAG] },
    );
  }

  /**
   * Changes a template in the store, then drops everything cached about it: the template, its scores,
   * renderings and embeddings, the catalog-wide results (matching, search) and the cached GET responses,
   * on every instance (tags are invalidation times in Redis, announced on the bus).
   */
  @CacheEvict({ name: 'templates', tags: (id: string) => [templateTag(id), CATALOG_TAG] })
  update(id: string, patch: Record<string, unknown>): Promise<Template> {
    const allowed = ['name', 'description', 'category', 'requirements', 'body'];
    for (const key of Object.keys(patch ?? {})) if (!allowed.includes(key)) throw new BadRequestException(`cannot change '${key}'; allowed: ${allowed.join(', ')}`);
    return this.repository.update(id, patch as TemplatePatch);
  }

  /**
   * The catalog's embeddings, filled when the app starts so that the first semantic search does not embed
   * every template. Blocking: the catalog is small and the embedder local, so startup waits a few
   * milliseconds and a search right after it finds them all (an instance that restarts takes them from Redis).
   */
  @CacheWarmer({ name: 'templates', blocking: true })
  async catalogEmbeddings(): Promise<WarmEntry<number[]>[]> {
    return (await this.repository.all()).map((template) => this.embeddingEntry(template));
  }

  private async embedding(template: Template): Promise<Float32Array> {
    const { key, factory, ...options } = this.embeddingEntry(template);
    return Float32Array.from(await this.cache.getOrSet(key, factory, options));
  }

  private embeddingEntry(template: Template): { key: string; factory: () => Promise<number[]>; ttl: '30d'; tags: string[] } {
    return {
      key: `embedding:${this.embedder.id}:${template.id}:v${template.version}`,
      factory: async () => [...(await this.embedder.embed([`${template.name}. ${template.description}. ${template.category}`]))[0]],
      ttl: '30d',
      tags: [templateTag(template.id)],
    };
  }

  private async served<T>(key: string, compute: () => Promise<T>, options: { ttl?: `${number}${'m' | 'h' | 'd'}`; tags: string[] }): Promise<Served<T>> {
    let hit = true;
    const value = await this.cache.getOrSet(
      key,
      async () => {
        hit = false;
        return compute();
      },
      options,
    );
    return { value, hit };
  }
}
