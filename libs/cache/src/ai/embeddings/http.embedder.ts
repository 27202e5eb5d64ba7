import { EmbeddingError, InvalidOptionError } from '../../core/errors';
import type { EmbeddingProvider } from './embedding.provider';

export interface HttpEmbedderOptions {
  /** Base URL of an OpenAI-compatible API. Default `'https://api.openai.com/v1'`. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** e.g. `'text-embedding-3-small'`. */
  model: string;
  /** Ask for vectors of this length (models that support it, like text-embedding-3). */
  dimensions?: number;
  /** Texts per request. Default 96. */
  batchSize?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** Extra headers (an organization, a gateway key…). */
  headers?: Record<string, string>;
  /** The similarity threshold to use with this model; measure it on your data (the labelled-pairs script takes any embedder). */
  suggestedThreshold?: number;
}

interface EmbeddingsReply {
  data?: Array<{ embedding?: number[]; index?: number }>;
}

/** Embeddings from an OpenAI-compatible `POST /embeddings` API (OpenAI, Azure OpenAI behind a gateway, vLLM, Ollama, LiteLLM…). */
export class HttpEmbeddingProvider implements EmbeddingProvider {
  readonly id: string;
  readonly dimensions: number | undefined;
  readonly suggestedThreshold: number | undefined;
  private readonly url: string;

  constructor(private readonly options: HttpEmbedderOptions) {
    if (typeof options?.model !== 'string' || options.model.length === 0) {
      throw new InvalidOptionError("HttpEmbeddingProvider needs a model, e.g. { model: 'text-embedding-3-small' }");
    }
    const base = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.url = `${base}/embeddings`;
    this.dimensions = options.dimensions;
    this.suggestedThreshold = options.suggestedThreshold;
    this.id = `http:${base}:${options.model}${options.dimensions ? `:${options.dimensions}` : ''}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const size = this.options.batchSize ?? 96;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.request(texts.slice(i, i + size))));
    return out;
  }

  private async request(input: readonly string[]): Promise<Float32Array[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.options.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body: Record<string, unknown> = { model: this.options.model, input };
    if (this.options.dimensions !== undefined) body.dimensions = this.options.dimensions;
    const response = await fetch(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      throw new EmbeddingError(`embedding request to ${this.url} failed: HTTP ${response.status} ${text}`);
    }
    const reply = (await response.json()) as EmbeddingsReply;
    const data = reply.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new EmbeddingError(`embedding reply from ${this.url} has ${Array.isArray(data) ? data.length : 'no'} vectors for ${input.length} texts`);
    }
    const vectors = new Array<Float32Array>(input.length);
    data.forEach((item, position) => {
      const at = typeof item.index === 'number' ? item.index : position;
      if (!Array.isArray(item.embedding) || at < 0 || at >= input.length) throw new EmbeddingError(`embedding reply from ${this.url} is malformed`);
      vectors[at] = Float32Array.from(item.embedding);
    });
    return vectors;
  }
}
