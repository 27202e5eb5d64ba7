import type { Type } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';

export type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** One method of a discovered provider or controller, as the explorers see it. */
export interface ProviderMethod {
  readonly instance: Record<string, unknown>;
  readonly cls: Type<unknown>;
  readonly name: string;
  /** The method on the prototype (where decorators put their metadata). */
  readonly method: (this: unknown, ...args: unknown[]) => unknown;
  /** `Class.method`: how startup errors and logs name it. */
  readonly where: string;
  /** False for a request-scoped provider (or one that depends on one): there is no single instance to work on. */
  readonly singleton: boolean;
}

/**
 * The methods of the instance behind a wrapper. Aliases (`useExisting`) and wrappers without an object
 * instance (values, unresolved providers) have none.
 */
export function* methodsOf(wrapper: InstanceWrapper, scanner: MetadataScanner): Generator<ProviderMethod> {
  const { instance } = wrapper;
  if (wrapper.isAlias || instance === null || typeof instance !== 'object') return;
  const target = instance as Record<string, unknown>;
  const proto = Object.getPrototypeOf(target) as object | null;
  if (proto === null || proto === Object.prototype) return;
  const cls = target.constructor as Type<unknown>;
  const singleton = wrapper.isDependencyTreeStatic();
  for (const name of scanner.getAllMethodNames(proto)) {
    const method = (proto as Record<string, unknown>)[name];
    if (typeof method !== 'function') continue;
    yield { instance: target, cls, name, method: method as ProviderMethod['method'], where: `${cls.name}.${name}`, singleton };
  }
}
