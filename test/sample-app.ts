import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
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
