import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EmbeddingError, InvalidArgumentError, InvalidKeyError, StoreError, StrataError } from '../src/core/errors';
import { HttpEmbeddingProvider } from '../src/ai/embeddings/http.embedder';
import { LocalEmbeddingProvider } from '../src/ai/embeddings/local.embedder';

const SRC = path.join(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(full);
    return entry.name.endsWith('.ts') && !/\.(spec|measure|fixture)\.ts$/.test(entry.name) ? [full] : [];
  });
}

/** Every error the library throws is a StrataError with a stable code (users catch by code, not by message). */
describe('errors', () => {
  it('no plain Error, TypeError or RangeError is thrown anywhere in libs/cache/src', () => {
    const plain = sources(SRC).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${path.relative(SRC, file)}:${i + 1}` }))
        .filter(({ line }) => /throw new (Error|TypeError|RangeError|SyntaxError)\(/.test(line))
        .map(({ at }) => at),
    );
    expect(plain).toEqual([]);
  });

  it('argument, option and embedding errors carry their codes', () => {
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (error) {
        return error instanceof StrataError ? error.code : `not a StrataError: ${String(error)}`;
      }
      return undefined;
    };
    expect(codeOf(() => new LocalEmbeddingProvider({ dimensions: 100 }))).toBe('E_INVALID_OPTION');
    expect(codeOf(() => new HttpEmbeddingProvider({ model: '' }))).toBe('E_INVALID_OPTION');
    expect(new EmbeddingError('x')).toBeInstanceOf(StrataError);
    expect(new StoreError('x').code).toBe('E_STORE_FAILED');
    expect(new InvalidArgumentError('x').code).toBe('E_INVALID_ARGUMENT');
    expect(new InvalidKeyError('a key', 3).code).toBe('E_INVALID_KEY');
  });
});
