import { Test } from '@nestjs/testing';
import type { INestApplicationContext, Provider, Type } from '@nestjs/common';
import { CACHE_CLOCK, CacheModule, CacheService, type CacheModuleOptions } from '../src';
import { type CacheInspector, inspectCache } from '../src/testing';

export interface CacheApp {
  app: INestApplicationContext;
  cache: CacheService;
  /** Background work driven now and figures the stats do not carry (`@strata/cache/testing`). */
  inspector: CacheInspector;
  /** The fake clock, when the app was built with one. */
  clock: { now: number; advance(ms: number): void };
}

/**
 * Builds a Nest application context with `CacheModule.forRoot(options)` and remembers it, so
 * `closeAll()` (in afterEach/afterAll) shuts every app down: no test leaks a connection or a timer.
 */
export class CacheFactory {
  private readonly apps: INestApplicationContext[] = [];

  /** `providers` and `controllers` join the test module (decorated services, scenario controllers). */
  async create(
    options: CacheModuleOptions,
    { fakeClock = false, providers = [], controllers = [] }: { fakeClock?: boolean; providers?: Provider[]; controllers?: Type<unknown>[] } = {},
  ): Promise<CacheApp> {
    const clock = {
      now: Date.now(),
      advance(ms: number) {
        this.now += ms;
      },
    };
    // A generous command timeout unless the test is about timeouts: on a busy machine a round trip can take
    // longer than the 250 ms default, and a test that needs a write to land must not fail on that.
    const generous = options.redis !== undefined && options.commandTimeout === undefined ? { commandTimeout: '2s' as const } : {};
    let builder = Test.createTestingModule({ imports: [CacheModule.forRoot({ logger: silent, ...generous, ...options })], providers, controllers });
    if (fakeClock) builder = builder.overrideProvider(CACHE_CLOCK).useValue(() => clock.now);
    const moduleRef = await builder.compile();
    let app: INestApplicationContext;
    try {
      app = await moduleRef.init();
    } catch (error) {
      // A startup error must not leave the Redis connection the stack already opened.
      await moduleRef.close().catch(() => undefined);
      throw error;
    }
    this.apps.push(app);
    return { app, cache: app.get(CacheService), inspector: inspectCache(app), clock };
  }

  async closeAll(): Promise<void> {
    const apps = this.apps.splice(0);
    await Promise.all(apps.map((app) => app.close()));
  }
}

/** A logger that records instead of printing, so tests can assert what was logged and how often. */
export class RecordingLogger {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown) {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown) {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown) {
    this.lines.push({ level: 'error', message: String(message) });
  }
  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line.message)).length;
  }
}

const silent = { log() {}, warn() {}, error() {} };
