import { MissingPeerError } from './errors';

/**
 * Optional peers (ioredis, prom-client, @opentelemetry/api) are loaded here, when the feature that needs
 * them is configured, never at import: a memory-only app runs without them installed. Their types are
 * imported with `import type` only, which leaves no `require` in the built JavaScript.
 */

/** The package, or a `MissingPeerError` naming it and the feature that asked for it. */
export function loadPeer<T>(name: string, feature: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    if (isMissing(error, name)) throw new MissingPeerError(name, feature, { cause: error });
    throw error;
  }
}

/** The package, or undefined when it is not installed (for features on by default, such as metrics). */
export function findPeer<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch (error) {
    if (isMissing(error, name)) return undefined;
    throw error;
  }
}

// Only the package itself missing counts: a broken install of it (one of its own dependencies missing) surfaces as is.
function isMissing(error: unknown, name: string): boolean {
  return (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' && String((error as { message?: unknown }).message).startsWith(`Cannot find module '${name}'`);
}
