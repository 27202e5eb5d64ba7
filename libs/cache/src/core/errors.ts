/**
 * Every error Strata raises, each with a stable code and a message that says how to fix it.
 */
export type StrataErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_INVALID_KEY'
  | 'E_INVALID_ARGUMENT'
  | 'E_NOT_SERIALIZABLE'
  | 'E_CORRUPT_ENTRY'
  | 'E_VALUE_TOO_LARGE'
  | 'E_L2_UNAVAILABLE'
  | 'E_FACTORY_TIMEOUT'
  | 'E_UNKNOWN_CACHE'
  | 'E_INVALID_DECORATOR'
  | 'E_EMBEDDING_FAILED'
  | 'E_STORE_FAILED'
  | 'E_MISSING_PEER';

export class StrataError extends Error {
  constructor(
    readonly code: StrataErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StrataError';
  }
}

/** An option passed to `CacheModule.forRoot()` (or a named cache) is wrong. Raised at startup. */
export class InvalidOptionError extends StrataError {
  constructor(message: string) {
    super('E_INVALID_OPTION', `Strata cache: ${message}`);
    this.name = 'InvalidOptionError';
  }
}

/** A cache key, tag or tenant id is not a non-empty string. Thrown (rejected) by the call that got it. */
export class InvalidKeyError extends StrataError {
  constructor(what: string, got: unknown) {
    super('E_INVALID_KEY', `Strata cache: ${what} must be a non-empty string; got ${got === '' ? 'an empty string' : typeof got}; pass the id as a string, e.g. String(user.id)`);
    this.name = 'InvalidKeyError';
  }
}

/** An argument of a cache call is out of its domain (the message says which values it takes). */
export class InvalidArgumentError extends StrataError {
  constructor(message: string) {
    super('E_INVALID_ARGUMENT', `Strata cache: ${message}`);
    this.name = 'InvalidArgumentError';
  }
}

/** A value cannot be stored: a function, a symbol, a circular structure, a class the serializer does not know. */
export class NotSerializableError extends StrataError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('E_NOT_SERIALIZABLE', `value is not serializable: ${reason}`, options);
    this.name = 'NotSerializableError';
  }
}

/** Bytes read from a tier do not decode to an entry (wrong header, truncated, tampered, too large when inflated). */
export class CorruptEntryError extends StrataError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('E_CORRUPT_ENTRY', `cache entry is corrupt: ${reason}`, options);
    this.name = 'CorruptEntryError';
  }
}

/** A factory ran past its hard timeout (`timeouts.hard`); it goes on in the background and updates the cache when it ends. */
export class FactoryTimeoutError extends StrataError {
  constructor(key: string, timeoutMs: number) {
    super(
      'E_FACTORY_TIMEOUT',
      `the factory for ${key} did not finish within its hard timeout of ${timeoutMs} ms; raise timeouts.hard, ` +
        `or configure failSafe so that a stale copy is served instead`,
    );
    this.name = 'FactoryTimeoutError';
  }
}

/** Redis could not be reached in time, or the circuit breaker is open. Only surfaces with `strict: true`. */
export class L2UnavailableError extends StrataError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('E_L2_UNAVAILABLE', `Redis tier unavailable: ${reason}`, options);
    this.name = 'L2UnavailableError';
  }
}

/** The embedding provider did not answer with one vector per text (HTTP error, malformed reply). The AI cache treats it as a miss. */
export class EmbeddingError extends StrataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_EMBEDDING_FAILED', `Strata AI cache: ${message}; check the embedding endpoint, its model and its API key`, options);
    this.name = 'EmbeddingError';
  }
}

/** A remote store reported that it did not do what was asked (a write it did not take); the engine counts it as an L2 error. */
export class StoreError extends StrataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_STORE_FAILED', `Strata cache: ${message}`, options);
    this.name = 'StoreError';
  }
}

/** A feature was configured whose optional peer dependency is not installed (`redis` without ioredis). Raised at startup. */
export class MissingPeerError extends StrataError {
  constructor(
    readonly packageName: string,
    feature: string,
    /** `needs`: what is missing and how to fix it, when the package is there but did not load (a native binary left out). */
    options?: { cause?: unknown; needs?: string },
  ) {
    const needs = options?.needs ?? `the package '${packageName}', which is not installed; install ${packageName}: npm i ${packageName}`;
    super('E_MISSING_PEER', `Strata cache: ${feature} needs ${needs}`, options);
    this.name = 'MissingPeerError';
  }
}

/**
 * An error message without the arguments Redis quotes after an unknown or refused command ("…, with args
 * beginning with: 'a' 'b'"): two errors of one cause then read the same (for logging a cause once).
 */
export function withoutQuotedArgs(message: string): string {
  return message.replace(/, with args beginning with: .*$/s, '');
}

/** The message of a thrown value, whatever was thrown (for logs and reasons). */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
