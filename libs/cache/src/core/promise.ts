/**
 * Whether a result that may be synchronous is a promise. Told apart by `then`, not `instanceof`: a
 * promise from native code (the LZ4 binding's threadpool) or another realm (a test runner's sandbox) is
 * not an instance of this realm's `Promise`.
 */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
