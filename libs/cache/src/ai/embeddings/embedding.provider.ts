import { Inject } from '@nestjs/common';

/**
 * Turns texts into vectors for the semantic cache. Vectors are compared by cosine, so they need not be
 * normalized (the cache normalizes them). Implementations: `LocalEmbeddingProvider` (the default, no
 * network), `HttpEmbeddingProvider` (OpenAI-compatible APIs), or your own under `EMBEDDING_PROVIDER`.
 */
export interface EmbeddingProvider {
  /**
   * A stable name of the model and its settings, e.g. `'openai:text-embedding-3-small'`. It is part of
   * every semantic scope: vectors of two different providers are never compared.
   */
  readonly id: string;
  /** The vector length, when known in advance. */
  readonly dimensions?: number | undefined;
  /**
   * The similarity threshold measured for this embedder (the semantic cache's default for it). Scales
   * differ: unrelated texts score about 0.1 with the local embedder and 0.7 with some API models.
   */
  readonly suggestedThreshold?: number | undefined;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** The injection token of the `EmbeddingProvider` the semantic cache uses. */
export const EMBEDDING_PROVIDER = Symbol('StrataEmbeddingProvider');

/** `constructor(@InjectEmbeddingProvider() embedder: EmbeddingProvider)` */
export const InjectEmbeddingProvider = (): ParameterDecorator & PropertyDecorator => Inject(EMBEDDING_PROVIDER);
