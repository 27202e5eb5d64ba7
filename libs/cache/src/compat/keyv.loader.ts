import { StrataError } from '../core/errors';

/** The `Keyv` class, loaded on first use: only those who use a Keyv store (or `cache.stores`) need keyv installed. */
export function loadKeyv<T>(): new (options: Record<string, unknown>) => T {
  try {
    return (require('keyv') as { Keyv: new (options: Record<string, unknown>) => T }).Keyv;
  } catch (error) {
    throw new StrataError('E_INVALID_OPTION', 'Strata cache: this needs the keyv package (a Keyv store, or cache.stores of the cache-manager compat layer); install it: npm install keyv', { cause: error });
  }
}
