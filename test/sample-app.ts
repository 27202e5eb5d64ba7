import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { CACHE_CLOCK } from '@strata/cache';
import { AppModule } from '../apps/sample/src/app.module';

/**
 * Starts the sample app on a free loopback port with these environment variables set while it boots
 * (the app reads them in its factories), then restores them. `configure` may override providers.
 */
export async function startSampleApp(
  env: Record<string, string | undefined>,
  configure: (builder: TestingModuleBuilder) => TestingModuleBuilder = (builder) => builder,
): Promise<INestApplication> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(env);
  try {
    const moduleRef = await configure(Test.createTestingModule({ imports: [AppModule] })).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    return app;
  } finally {
    apply(saved);
  }
}

export interface SampleApp {
  app: INestApplication;
  /** The HTTP server, for supertest. */
  server: ReturnType<INestApplication['getHttpServer']>;
  /** The cache's clock: starts at the real time, moves only when told. */
  clock: { now: number; advance(ms: number): void };
  close(): Promise<void>;
}

/**
 * Starts the sample app on a free port, memory-only or on the given Redis, with the simulated
 * backends made fast (a few ms) and the real OpenAI API switched off whatever the environment says.
 * Environment variables are read at startup and restored right after.
 */
export async function startSample(options: { redisUrl?: string; env?: Record<string, string> } = {}): Promise<SampleApp> {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const env = { REDIS_URL: options.redisUrl, SAMPLE_LATENCY_MS: '3', OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, ...options.env };
  const app = await startSampleApp(env, (builder) => builder.overrideProvider(CACHE_CLOCK).useValue(() => clock.now));
  return { app, server: app.getHttpServer(), clock, close: () => app.close() };
}

/** The events of a server-sent events body, in order. */
export function parseSse(body: string): Array<{ event: string; data: unknown }> {
  return body
    .split('\n\n')
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}
