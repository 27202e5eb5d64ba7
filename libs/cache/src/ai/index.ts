/**
 * `@strata/cache/ai`: AI response caching (exact and semantic). A sub-path of its own so apps that only
 * cache data do not load it; it uses the core's `CacheService` underneath.
 */
export { AiCacheModule, AI_CACHE_MODULE_OPTIONS, AI_CACHE_OPTIONS } from './ai-cache.module';
export type { AiCacheModuleExtras } from './ai-cache.module';
export { AiResponseCache } from './ai-response.cache';
export { DEFAULT_OPERATION_TTLS, DEFAULT_IGNORED_PARAMS, defaultAdaptiveTtl } from './ai-cache.options';
export type { AiCacheModuleOptions, AdaptiveTtl, AdaptiveTtlContext, ModelPrice, SemanticCacheOptions } from './ai-cache.options';
export type {
  AiCacheResult,
  AiCacheStats,
  AiCacheStatus,
  AiCallOptions,
  AiMessage,
  AiRequest,
  AiResponse,
  AiSavings,
  AiSemanticStats,
  AiSkipReason,
  AiStreamChunk,
  AiStreamResult,
  AiUsage,
} from './ai.types';
export { StreamNotRecordedError } from './ai-stream.recording';
export type { StreamSource } from './ai-stream.recording';
export { SemanticCache } from './semantic/semantic.cache';
export type { SemanticMatch, SemanticProbe, SemanticScope, SemanticSearchOptions, SemanticSearchResult } from './semantic/semantic.cache';
export { guardConflict } from './semantic/guards';
export { signatureOf } from './semantic/prompt-signature';
export type { GuardName, SemanticGuardOptions } from './semantic/guards';
export type { PromptSignature } from './semantic/prompt-signature';
export { EMBEDDING_PROVIDER, InjectEmbeddingProvider } from './embeddings/embedding.provider';
export type { EmbeddingProvider } from './embeddings/embedding.provider';
export { LocalEmbeddingProvider } from './embeddings/local.embedder';
export { cosine as cosineSimilarity } from './semantic/vector-math';
export type { LocalEmbedderOptions } from './embeddings/local.embedder';
export { HttpEmbeddingProvider } from './embeddings/http.embedder';
export type { HttpEmbedderOptions } from './embeddings/http.embedder';
