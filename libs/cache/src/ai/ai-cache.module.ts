import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { CacheService } from '../cache.service';
import { CacheStack } from '../cache.stack';
import { type AiCacheModuleOptions, type ResolvedAiCacheOptions, resolveAiOptions } from './ai-cache.options';
import { AiCacheShared, viewSettings } from './ai-cache.shared';
import { AiResponseCache } from './ai-response.cache';
import { EMBEDDING_PROVIDER, type EmbeddingProvider } from './embeddings/embedding.provider';
import { LocalEmbeddingProvider } from './embeddings/local.embedder';
import { SemanticCache } from './semantic/semantic.cache';

export interface AiCacheModuleExtras {
  /** Register the module globally (default true): every module can inject `AiResponseCache`. */
  isGlobal: boolean;
}

export const {
  ConfigurableModuleClass: AiCacheConfigurableModule,
  MODULE_OPTIONS_TOKEN: AI_CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE: AI_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AI_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AiCacheModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<AiCacheModuleExtras>({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** The resolved (validated, defaulted) options of the AI cache. */
export const AI_CACHE_OPTIONS = Symbol('StrataAiCacheOptions');

/**
 * `AiCacheModule.forRoot({ cache: 'ai', prices, semantic })` next to `CacheModule.forRoot({ caches: { ai: … } })`.
 * Provides `AiResponseCache`, `SemanticCache` and the `EMBEDDING_PROVIDER` (the local embedder unless
 * `semantic.embedder` names another, or the token is overridden).
 *
 * A module of its own rather than more `CacheModule` options: the AI options (prices, TTL by
 * operation, the embedder) are a domain of their own with their own validation, an app without AI
 * pays nothing for them, and the embedder is a provider that tests and apps can override by token.
 */
@Module({
  providers: [
    { provide: AI_CACHE_OPTIONS, useFactory: (options: AiCacheModuleOptions) => resolveAiOptions(options), inject: [AI_CACHE_MODULE_OPTIONS] },
    {
      provide: EMBEDDING_PROVIDER,
      useFactory: (options: ResolvedAiCacheOptions): EmbeddingProvider => options.semantic.embedder ?? new LocalEmbeddingProvider(),
      inject: [AI_CACHE_OPTIONS],
    },
    {
      provide: SemanticCache,
      useFactory: (stack: CacheStack, embedder: EmbeddingProvider, options: ResolvedAiCacheOptions) =>
        new SemanticCache(stack, embedder, options.semantic, options.maxTtl),
      inject: [CacheStack, EMBEDDING_PROVIDER, AI_CACHE_OPTIONS],
    },
    {
      provide: AiResponseCache,
      useFactory: (stack: CacheStack, cache: CacheService, semantic: SemanticCache, options: ResolvedAiCacheOptions) => {
        const shared = new AiCacheShared(stack, cache, options, semantic);
        const settings = viewSettings(shared, options.cache, undefined);
        return new AiResponseCache(shared, settings.root, settings);
      },
      inject: [CacheStack, CacheService, SemanticCache, AI_CACHE_OPTIONS],
    },
  ],
  exports: [AiResponseCache, SemanticCache, EMBEDDING_PROVIDER, AI_CACHE_OPTIONS],
})
export class AiCacheModule extends AiCacheConfigurableModule {}
