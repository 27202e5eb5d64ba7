import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Tells a route whether a cached service method really ran for this request, for its `X-Cache` header:
 * the method body calls `ran()`, the route wraps the call in `track()`. A `@Cacheable` hit never enters
 * the body, so it never marks. Per request (AsyncLocalStorage), so concurrent requests do not mix.
 */
export class Computed {
  private static readonly storage = new AsyncLocalStorage<{ ran: boolean }>();

  static async track<T>(call: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
    const scope = { ran: false };
    const value = await Computed.storage.run(scope, call);
    return { value, hit: !scope.ran };
  }

  static ran(): void {
    const scope = Computed.storage.getStore();
    if (scope !== undefined) scope.ran = true;
  }
}
