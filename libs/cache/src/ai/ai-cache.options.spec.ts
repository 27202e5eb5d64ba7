import { InvalidOptionError } from '../core/errors';
import { resolveAiOptions } from './ai-cache.options';

describe('resolveAiOptions', () => {
  it('fills in the defaults', () => {
    const options = resolveAiOptions(undefined);
    expect(options.cache).toBe('ai');
    expect(options.ttl.get('summarize')).toBe(2 * 3_600_000);
    expect(options.ttl.get('sentiment')).toBe(24 * 3_600_000);
    expect(options.ttl.get('qa')).toBe(30 * 60_000);
    expect(options.semantic.enabled).toBe(true);
    expect(options.ignoreParams.has('requestId')).toBe(true);
    expect(options.ignoreParams.has('user')).toBe(true);
    expect(resolveAiOptions({ includeUser: true }).ignoreParams.has('user')).toBe(false);
    expect(resolveAiOptions({ semantic: false }).semantic.enabled).toBe(false);
    expect(resolveAiOptions({}).semantic.syncInterval).toBe(50);
    expect(resolveAiOptions({ semantic: { syncInterval: 0 } }).semantic.syncInterval).toBe(0);
  });

  it.each([
    [{ cahce: 'ai' }, /unknown AiCacheModule option 'cahce'/],
    [{ ttl: { qa: -1 } }, /ttl.qa must be a positive duration/],
    [{ minConfidence: 2 }, /minConfidence must be a number from 0 to 1/],
    [{ prices: { m: { input: 'cheap' } } }, /prices.m must be \{ input, output \}/],
    [{ semantic: { threshold: 1.5 } }, /semantic.threshold must be a number from 0 to 1/],
    [{ semantic: { treshold: 0.9 } }, /unknown option 'semantic.treshold'/],
    [{ semantic: { embedder: {} } }, /must implement EmbeddingProvider/],
    [{ semantic: { guards: { negations: false } } }, /unknown semantic guard 'negations'; known guards: numbers/],
    [{ semantic: { guards: { maxAddedWords: -1 } } }, /semantic.guards.maxAddedWords must be a whole number/],
    [{ semantic: { guards: { code: 'no' } } }, /semantic.guards.code must be true or false/],
    [{ caches: { legal: { semantc: false } } }, /caches.legal takes \{ semantic\?: boolean \}/],
    [{ adaptiveTtl: 'yes' }, /adaptiveTtl must be true, false or a function/],
  ])('explains what is wrong with %j', (input, message) => {
    expect(() => resolveAiOptions(input as never)).toThrow(InvalidOptionError);
    expect(() => resolveAiOptions(input as never)).toThrow(message);
  });
});
