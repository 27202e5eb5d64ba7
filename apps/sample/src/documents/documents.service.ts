import { BadRequestException, Inject, Injectable, NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { CacheService, InjectCache } from '@strata/cache';
import { AiResponseCache } from '@strata/cache/ai';
import { sha256 } from '../common/simulation';
import { LLM_CLIENT, type LlmClient } from '../ai/llm/llm.client';
import { type OcrResult, type ParsedDocument, DocumentBackends, chunksOf } from './documents.backends';

export const COMPONENTS = ['features', 'requirements', 'metadata'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface DocumentSummary {
  id: string;
  tenant: string;
  filename?: string;
  bytes: number;
  chunks: string[];
  parse: ParsedDocument;
  uploadedAt: string;
}

export interface ProcessedDocument {
  id: string;
  bytes: number;
  chunks: number;
  parse: ParsedDocument;
  extraction: Record<Component, unknown>;
  /** Which steps were served from the cache. */
  cache: { ocr: { cached: number; computed: number }; parse: 'hit' | 'miss'; extraction: Record<Component, string>; all: 'hit' | 'miss' };
  ms: number;
}

const MAX_BYTES = 20 * 1024 * 1024;

/**
 * Documents by content: the SHA-256 of the bytes is the id, so the same bytes are processed once per
 * tenant. OCR is cached per chunk (large documents are split, and an edited document reuses the
 * chunks it shares with the old one), parsing per document, LLM extraction per component (features,
 * requirements, metadata) through the AI cache. TTLs: OCR and parsing 7 days, extraction 30 days.
 */
@Injectable()
export class DocumentsService {
  readonly backends: DocumentBackends;
  private readonly chunkBytes: number;

  constructor(
    @InjectCache('documents') private readonly cache: CacheService,
    private readonly ai: AiResponseCache,
    @Inject(LLM_CLIENT) private readonly llm: LlmClient,
    backends: DocumentBackends,
  ) {
    this.backends = backends;
    const configured = Number(process.env.SAMPLE_CHUNK_BYTES ?? 64 * 1024);
    this.chunkBytes = Number.isInteger(configured) && configured > 0 ? configured : 64 * 1024;
  }

  async upload(tenant: string, body: { content?: unknown; contentBase64?: unknown; filename?: unknown }): Promise<ProcessedDocument> {
    const started = performance.now();
    const bytes = this.bytesOf(body);
    const id = sha256(bytes);
    const cache = this.cache.forTenant(tenant);
    const chunks = chunksOf(bytes, this.chunkBytes);
    let computedOcr = 0;
    const ocr = await mapLimited(chunks, 4, (chunk) =>
      cache.getOrSet<OcrResult>(
        `ocr:${chunk.hash}`,
        async () => {
          computedOcr += 1;
          return this.backends.ocr(chunk.bytes, chunk.hash);
        },
        { ttl: '7d', tags: [`doc:${id}`] },
      ),
    );
    const text = ocr.map((o) => o.text).join('');
    let parseHit = true;
    const parse = await cache.getOrSet<ParsedDocument>(
      `parse:${id}`,
      async () => {
        parseHit = false;
        return this.backends.parse(text, id);
      },
      { ttl: '7d', tags: [`doc:${id}`] },
    );
    const extracted = await Promise.all(COMPONENTS.map((component) => this.extractFrom(tenant, id, component, text)));
    const summary: DocumentSummary = {
      id,
      tenant,
      filename: typeof body.filename === 'string' ? body.filename.slice(0, 200) : undefined,
      bytes: bytes.length,
      chunks: chunks.map((c) => c.hash),
      parse,
      uploadedAt: new Date().toISOString(),
    };
    const known = await cache.get<DocumentSummary>(`doc:${id}`);
    if (known === undefined) await cache.set(`doc:${id}`, summary, { ttl: '7d', tags: [`doc:${id}`] });
    const extraction = Object.fromEntries(COMPONENTS.map((c, i) => [c, extracted[i].value])) as Record<Component, unknown>;
    const extractionStatus = Object.fromEntries(COMPONENTS.map((c, i) => [c, extracted[i].status])) as Record<Component, string>;
    const all = computedOcr === 0 && parseHit && extracted.every((e) => e.status !== 'miss') ? 'hit' : 'miss';
    return {
      id,
      bytes: bytes.length,
      chunks: chunks.length,
      parse,
      extraction,
      cache: { ocr: { cached: chunks.length - computedOcr, computed: computedOcr }, parse: parseHit ? 'hit' : 'miss', extraction: extractionStatus, all },
      ms: Math.round((performance.now() - started) * 100) / 100,
    };
  }

  async summary(tenant: string, id: string): Promise<DocumentSummary> {
    const summary = await this.cache.forTenant(tenant).get<DocumentSummary>(`doc:${id}`);
    if (summary === undefined) throw new NotFoundException(`no document ${id} for this tenant`);
    return summary;
  }

  /** One extracted component of a known document (from the cache; recomputed from the cached OCR text if it expired). */
  async component(tenant: string, id: string, component: string): Promise<{ value: unknown; status: string }> {
    if (!(COMPONENTS as readonly string[]).includes(component)) throw new NotFoundException(`component must be one of ${COMPONENTS.join(', ')}`);
    const summary = await this.summary(tenant, id);
    const cache = this.cache.forTenant(tenant);
    const ocr = await Promise.all(summary.chunks.map((hash) => cache.get<OcrResult>(`ocr:${hash}`)));
    if (ocr.some((o) => o === undefined)) throw new NotFoundException(`document ${id} must be uploaded again: its OCR results expired`);
    return this.extractFrom(tenant, id, component as Component, ocr.map((o) => o!.text).join(''));
  }

  private async extractFrom(tenant: string, id: string, component: Component, text: string): Promise<{ value: unknown; status: string }> {
    const prompt = `Extract the ${component} of this document as JSON.\n\n${text.slice(0, 50_000)}`;
    const request = { provider: this.llm.provider, model: this.llm.defaultModel, operation: 'extract', prompt, params: { component, documentId: id } };
    const result = await this.ai
      .forTenant(tenant)
      .getOrCall(request, () => this.llm.complete({ model: request.model, operation: 'extract', prompt }), { semantic: false, ttl: '30d', tags: [`doc:${id}`] });
    let value: unknown = result.response.output;
    try {
      value = JSON.parse(result.response.output);
    } catch {
      // a real model may answer in prose: keep the text
    }
    return { value, status: result.status };
  }

  private bytesOf(body: { content?: unknown; contentBase64?: unknown }): Buffer {
    if (typeof body !== 'object' || body === null) throw new BadRequestException('send { content: "text" } or { contentBase64: "..." }');
    const hasText = typeof body.content === 'string';
    const hasBase64 = typeof body.contentBase64 === 'string';
    if (hasText === hasBase64) throw new BadRequestException('send exactly one of content (text) or contentBase64');
    const bytes = hasText ? Buffer.from(body.content as string, 'utf8') : Buffer.from(body.contentBase64 as string, 'base64');
    if (bytes.length === 0) throw new BadRequestException('the document is empty');
    if (bytes.length > MAX_BYTES) throw new PayloadTooLargeException(`documents are limited to ${MAX_BYTES} bytes`);
    return bytes;
  }
}

/** Like Promise.all over `items`, at most `limit` at a time. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runner = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  return results;
}
