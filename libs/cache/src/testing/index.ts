/** `@strata/cache/testing`: helpers for testing an app that uses the cache. Never loaded by the root entry. */
export { ManualClock } from './manual-clock';
