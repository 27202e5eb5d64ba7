import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { useRedis } from '../libs/cache/test/harness';
import { startSampleApp } from './sample-app';

/** The sample app over HTTP, memory-only and on Redis (REDIS_URL is read when the app starts). */
describe.each(['memory', 'redis'] as const)('sample app (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let app: INestApplication;

  beforeAll(async () => {
    app = await startSampleApp({ REDIS_URL: redis?.url });
  });
  afterAll(() => app?.close());

  it('serves the second request for a report from the cache', async () => {
    const first = await request(app.getHttpServer()).get('/reports/42').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body.servedFromCache).toBe(false);
    const second = await request(app.getHttpServer()).get('/reports/42').expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.report).toEqual(first.body.report);
    const stats = await request(app.getHttpServer()).get('/cache/stats').expect(200);
    expect(stats.body.generated).toBe(1);
    expect(stats.body.l2.state).toBe(mode === 'redis' ? 'closed' : 'disabled');
  });

  if (mode === 'redis') {
    it('keeps serving when Redis is killed mid-test: hits from L1, misses from the service', async () => {
      await request(app.getHttpServer()).get('/reports/100').expect(200);
      await redis!.process.kill();
      try {
        const hit = await request(app.getHttpServer()).get('/reports/100').expect(200);
        expect(hit.headers['x-cache']).toBe('HIT');
        const miss = await request(app.getHttpServer()).get('/reports/101').expect(200);
        expect(miss.headers['x-cache']).toBe('MISS');
        const stats = await request(app.getHttpServer()).get('/cache/stats').expect(200);
        expect(stats.body.l2.errors).toBeGreaterThan(0);
      } finally {
        await redis!.process.restart();
      }
    });
  }

  it('recomputes a report after its cache is invalidated', async () => {
    await request(app.getHttpServer()).get('/reports/7').expect(200);
    await request(app.getHttpServer()).delete('/reports/7/cache').expect(204);
    const again = await request(app.getHttpServer()).get('/reports/7').expect(200);
    expect(again.headers['x-cache']).toBe('MISS');
  });
});
