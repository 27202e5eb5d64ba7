import { BadRequestException, Inject, Injectable, NotFoundException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { CacheEvict, CacheService, CacheTags, Cacheable, InjectCache } from '@strata/cache';
import { AiResponseCache } from '@strata/cache/ai';
import { LLM_CLIENT, type LlmClient } from '../ai/llm/llm.client';
import { Computed } from '../common/computed';
import { sha256 } from '../common/simulation';
import { SampleStore } from '../store/sample.store';
import { DocumentReader, type ReadText } from './document-reader';
import { type ParsedDocument, parseStructure } from './document-structure';
import { DocumentSavings, type WorkKind } from './documents.savings';

export const COMPONENTS = ['features', 'requirements', 'metadata'] as const;
export type Component = (typeof COMPONENTS)[number];
export type DocumentKind = 'pdf' | 'image' | 'text';

/** Text read out of a document by real work, with what that work cost the first time. */
export interface ExtractedText extends ReadText {
  engine: 'pdf.js' | 'tesseract';
  /** How long the real work took when it ran (the time a hit saves). */
  workMs: number;
}

/** A document's row in the store (per tenant), with its extracted text. */
export interface DocumentRecord {
  id: string;
  tenant: string;
  kind: DocumentKind;
  filename?: string;
  bytes: number;
  pages: number;
  title: string;
  words: number;
  text: string;
  uploadedAt: string;
}

export interface ProcessedDocument {
  id: string;
  kind: DocumentKind;
  bytes: number;
  pages: number;
  text: string;
  parse: ParsedDocument;
  extraction: Record<Component, unknown>;
  /** The real text extraction: which engine, how long its first run took, and what this request saved. */
  work: { engine: ExtractedText['engine'] | 'none'; cache: 'hit' | 'miss' | 'none'; firstRunMs: number; savedMs: number };
  cache: { parse: 'hit' | 'miss'; extraction: Record<Component, string>; all: 'hit' | 'miss' };
  ms: number;
}

const MAX_BYTES = 20 * 1024 * 1024;
const MAX_TEXT = 200_000;
/** Tags of what is cached about one document of one tenant (decorated methods: the tenant is in the key, so in the tag too). */
export const documentTag = (tenant: string, id: string) => `doc:${tenant}:${id}`;

/**
 * Documents by content: the SHA-256 of the bytes is the id, so the same bytes are read once per tenant.
 * Text comes out of PDFs with PDF.js (cached 30 days) and out of images with Tesseract OCR (7 days),
 * both `@Cacheable` on this service with the tenant in the key; parsing and the LLM extraction of
 * features, requirements and metadata go through the injected cache and the AI cache (30 days).
 */
@Injectable()
export class DocumentsService {
  constructor(
    @InjectCache('documents') private readonly cache: CacheService,
    private readonly ai: AiResponseCache,
    @Inject(LLM_CLIENT) private readonly llm: LlmClient,
    private readonly reader: DocumentReader,
    private readonly store: SampleStore,
    readonly savings: DocumentSavings,
  ) {}

  async upload(tenant: string, body: { content?: unknown; contentBase64?: unknown; filename?: unknown }): Promise<ProcessedDocument> {
    const started = performance.now();
    const bytes = bytesOf(body);
    const id = sha256(bytes);
    const kind = kindOf(bytes);
    const read = await this.textOf(tenant, id, kind, bytes);
    const text = read.text.slice(0, MAX_TEXT);
    let parseHit = true;
    const parse = await this.cache.forTenant(tenant).getOrSet<ParsedDocument>(
      `parse:${id}`,
      async () => {
        parseHit = false;
        return parseStructure(text);
      },
      { ttl: '30d', tags: [`doc:${id}`] },
    );
    const extracted = await Promise.all(COMPONENTS.map((component) => this.extractFrom(tenant, id, component, text)));
    const record: DocumentRecord = {
      id,
      tenant,
      kind,
      filename: typeof body.filename === 'string' ? body.filename.slice(0, 200) : undefined,
      bytes: bytes.length,
      pages: read.pages,
      title: read.title ?? parse.title,
      words: parse.words,
      text,
      uploadedAt: new Date().toISOString(),
    };
    await this.store.putIfAbsent('documents', tenant, id, record);
    const extractionStatus = Object.fromEntries(COMPONENTS.map((c, i) => [c, extracted[i].status])) as Record<Component, string>;
    const all = read.cache !== 'miss' && parseHit && extracted.every((e) => e.status !== 'miss') ? 'hit' : 'miss';
    return {
      id,
      kind,
      bytes: bytes.length,
      pages: read.pages,
      text: text.slice(0, 2_000),
      parse,
      extraction: Object.fromEntries(COMPONENTS.map((c, i) => [c, extracted[i].value])) as Record<Component, unknown>,
      work: { engine: read.engine, cache: read.cache, firstRunMs: read.workMs, savedMs: read.cache === 'hit' ? read.workMs : 0 },
      cache: { parse: parseHit ? 'hit' : 'miss', extraction: extractionStatus, all },
      ms: round(performance.now() - started),
    };
  }

  /** Text out of a PDF with PDF.js: the same bytes for the same tenant are read once in 30 days. */
  @Cacheable({ name: 'documents', key: '{0}:pdf-text:{1}', ttl: '30d' })
  @CacheTags((tenant: string, id: string) => [documentTag(tenant, id)])
  async pdfText(tenant: string, id: string, bytes: Buffer): Promise<ExtractedText> {
    return this.work('pdf', 'pdf.js', () => this.reader.pdfText(bytes));
  }

  /** Text out of an image with Tesseract: the same bytes for the same tenant are recognized once in 7 days. */
  @Cacheable({ name: 'documents', key: '{0}:ocr:{1}', ttl: '7d' })
  @CacheTags((tenant: string, id: string) => [documentTag(tenant, id)])
  async imageText(tenant: string, id: string, bytes: Buffer): Promise<ExtractedText> {
    return this.work('ocr', 'tesseract', () => this.reader.ocr(bytes));
  }

  async find(tenant: string, id: string): Promise<Omit<DocumentRecord, 'text'>> {
    const { text: _text, ...record } = await this.record(tenant, id);
    return record;
  }

  /** Deletes a document: its row, and (`@CacheEvict`) its cached text; its parse and extraction entries go by the tenant's tag. */
  @CacheEvict({ name: 'documents', tags: (tenant: string, id: string) => [documentTag(tenant, id)] })
  async remove(tenant: string, id: string): Promise<void> {
    if (!(await this.store.delete('documents', tenant, id))) throw new NotFoundException(`no document ${id} for this tenant`);
    await this.cache.forTenant(tenant).invalidateTags([`doc:${id}`]);
  }

  /** One extracted component of a known document (from the AI cache; extracted again from the stored text if it expired). */
  async component(tenant: string, id: string, component: string): Promise<{ value: unknown; status: string }> {
    if (!(COMPONENTS as readonly string[]).includes(component)) throw new NotFoundException(`component must be one of ${COMPONENTS.join(', ')}`);
    const record = await this.record(tenant, id);
    return this.extractFrom(tenant, id, component as Component, record.text);
  }

  private async record(tenant: string, id: string): Promise<DocumentRecord> {
    const record = await this.store.get<DocumentRecord>('documents', tenant, id);
    if (record === undefined) throw new NotFoundException(`no document ${id} for this tenant`);
    return record;
  }

  private async textOf(tenant: string, id: string, kind: DocumentKind, bytes: Buffer): Promise<ReadText & { engine: ProcessedDocument['work']['engine']; workMs: number; cache: 'hit' | 'miss' | 'none' }> {
    if (kind === 'text') return { text: bytes.toString('utf8'), pages: 1, engine: 'none', workMs: 0, cache: 'none' };
    const workKind: WorkKind = kind === 'pdf' ? 'pdf' : 'ocr';
    const { value, hit } = await Computed.track(() => (kind === 'pdf' ? this.pdfText(tenant, id, bytes) : this.imageText(tenant, id, bytes)));
    if (hit) this.savings.hit(workKind, value.workMs, value.pages);
    return { ...value, cache: hit ? 'hit' : 'miss' };
  }

  private async work(kind: WorkKind, engine: ExtractedText['engine'], run: () => Promise<ReadText>): Promise<ExtractedText> {
    Computed.ran();
    const started = performance.now();
    const read = await run();
    const workMs = round(read.workMs ?? performance.now() - started);
    this.savings.ran(kind, workMs);
    return { ...read, engine, workMs };
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
}

function bytesOf(body: { content?: unknown; contentBase64?: unknown }): Buffer {
  if (typeof body !== 'object' || body === null) throw new BadRequestException('send { content: "text" } or { contentBase64: "..." }');
  const hasText = typeof body.content === 'string';
  const hasBase64 = typeof body.contentBase64 === 'string';
  if (hasText === hasBase64) throw new BadRequestException('send exactly one of content (text) or contentBase64');
  const bytes = hasText ? Buffer.from(body.content as string, 'utf8') : Buffer.from(body.contentBase64 as string, 'base64');
  if (bytes.length === 0) throw new BadRequestException('the document is empty');
  if (bytes.length > MAX_BYTES) throw new PayloadTooLargeException(`documents are limited to ${MAX_BYTES} bytes`);
  return bytes;
}

const IMAGE_MAGIC = [Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('II*\0'), Buffer.from('MM\0*'), Buffer.from('GIF8')];

/** By the first bytes, not by a client-given type: a PDF, an image Tesseract reads, or UTF-8 text. */
function kindOf(bytes: Buffer): DocumentKind {
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (IMAGE_MAGIC.some((magic) => bytes.subarray(0, magic.length).equals(magic))) return 'image';
  const text = bytes.toString('utf8');
  const printable = text.replace(/[^\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]/g, '').length / Math.max(1, text.length);
  if (printable > 0.95 && !text.includes('\ufffd')) return 'text';
  throw new UnsupportedMediaTypeException('send a PDF, an image (PNG, JPEG, TIFF, GIF) or UTF-8 text');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
