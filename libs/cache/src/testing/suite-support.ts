import { randomBytes } from 'node:crypto';
import type { StoreAdapters } from '../ports/store-adapters';

/** Makes adapters for a conformance suite: each call a new set on the same backend (server, database, memory backend). */
export interface AdaptersFactory {
  create(): Promise<StoreAdapters> | StoreAdapters;
}

/** One set of adapters for the enclosing `describe`, made in `beforeAll` and closed in `afterAll`; more on demand. */
export function useAdapters(factory: AdaptersFactory): { readonly current: StoreAdapters; another(): Promise<StoreAdapters> } {
  let current: StoreAdapters | undefined;
  const made: StoreAdapters[] = [];
  beforeAll(async () => {
    current = await factory.create();
    made.push(current);
  });
  afterAll(async () => {
    await Promise.all(made.map((adapters) => adapters.close()));
  });
  return {
    get current() {
      if (current === undefined) throw new Error('adapters are only there inside tests and hooks');
      return current;
    },
    async another() {
      const adapters = await factory.create();
      made.push(adapters);
      return adapters;
    },
  };
}

/** A key no other test (or earlier run on the same server) uses. */
export function uniqueKey(label: string): string {
  return `conf:${randomBytes(6).toString('hex')}:${label}`;
}

/** Resolves once `condition` holds, checking every 5 ms; rejects after `timeoutMs` with `message`. */
export async function eventually(condition: () => boolean | Promise<boolean>, message: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
