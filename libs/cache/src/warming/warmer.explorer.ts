import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { CacheService } from '../cache.service';
import { CacheStack } from '../cache.stack';
import { segment } from '../core/keys';
import { CacheMetadataAccessor } from '../decorators/cache-metadata.accessor';
import { decoratorError } from '../decorators/cache-plan';
import { type ProviderMethod, methodsOf } from '../decorators/provider-methods';
import { warmerPlan } from './warmer-plan';
import { type WarmerLease, WarmerRunner } from './warmer.runner';

/** How long shutdown waits for warmer runs in progress (they take no new entries once it starts). */
const DRAIN_MS = 5_000;
const LEASE_DOWN = Symbol('lease-down');

/**
 * Finds the `@CacheWarmer` methods of every singleton provider and controller at module init (their
 * options are checked then, so a mistake fails the boot), starts them at application bootstrap (after
 * every `onModuleInit`, so Redis is connected and the providers are ready), and stops them, with their
 * timers, when the module is destroyed.
 */
@Injectable()
export class WarmerExplorer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly runners = new Map<string, WarmerRunner>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: CacheMetadataAccessor,
    private readonly cache: CacheService,
    private readonly stack: CacheStack,
  ) {}

  onModuleInit(): void {
    const owners = new Map<string, Type<unknown>>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      for (const found of methodsOf(wrapper, this.scanner)) {
        const options = this.accessor.warmer(found.method);
        if (options === undefined || !this.accept(found, owners.get(found.where))) continue;
        owners.set(found.where, found.cls);
        const plan = warmerPlan(found.where, options, this.cache);
        const { instance, name } = found;
        const call = () => (instance[name] as () => unknown).call(instance);
        const lease = this.lease(found.where);
        this.runners.set(
          found.where,
          new WarmerRunner(plan, call, { logger: this.stack.logger, telemetry: this.stack.telemetry, lease: lease?.claim, extendLease: lease?.extend }),
        );
      }
    }
  }

  /** Starts every warmer; waits for the bootstrap runs of the blocking ones (which never throw). */
  async onApplicationBootstrap(): Promise<void> {
    const blocking: Promise<unknown>[] = [];
    for (const runner of this.runners.values()) {
      const first = runner.start();
      if (runner.plan.blocking) blocking.push(first);
    }
    await Promise.all(blocking);
  }

  async onModuleDestroy(): Promise<void> {
    for (const runner of this.runners.values()) runner.stop();
    await Promise.all([...this.runners.values()].map((runner) => runner.drain(DRAIN_MS)));
  }

  /** The runner of a warmer, by `Class.method` (to run an interval tick now: `runner(name)?.tick()`). */
  runner(name: string): WarmerRunner | undefined {
    return this.runners.get(name);
  }

  private accept(found: ProviderMethod, owner: Type<unknown> | undefined): boolean {
    const { where, cls } = found;
    if (!found.singleton) {
      this.stack.logger.warn(
        `${where} is a @CacheWarmer but ${cls.name} is request-scoped (or depends on a request-scoped provider), so there is ` +
          `no instance to call at startup: it never runs; make it a singleton`,
      );
      return false;
    }
    if (owner === cls) {
      this.stack.logger.warn(`${where} is a @CacheWarmer of a class provided more than once: it runs on the first instance only`);
      return false;
    }
    if (owner !== undefined) {
      throw decoratorError(
        `@CacheWarmer on ${where}`,
        `another class is also named ${cls.name} with a warmer ${where}; warmers are known by Class.method (stats, metrics, the cluster lease), so rename one`,
      );
    }
    return true;
  }

  /**
   * `{prefix}:__warmer:{Class.method}` in the shared `LeaseStore`, claimed through the L2 breaker and
   * extended only by its holder; undefined without a shared store (every instance runs its warmers).
   */
  private lease(where: string): { claim: WarmerLease; extend: (ttl: number) => Promise<void> } | undefined {
    const shared = this.stack.shared('leases');
    if (shared === undefined) return undefined;
    const { l2, store } = shared;
    const key = `${segment(this.stack.options.prefix)}:__warmer:${segment(where)}`;
    const owner = this.stack.instanceId;
    return {
      claim: async (ttl) => {
        const reply = await l2.guard(() => store.claim(key, owner, ttl), LEASE_DOWN, key).catch(() => LEASE_DOWN);
        return reply === LEASE_DOWN ? 'unavailable' : reply ? 'held' : 'elsewhere';
      },
      extend: async (ttl) => {
        await l2.guard(() => store.extend(key, owner, ttl), undefined, key).catch(() => undefined);
      },
    };
  }
}
