import type { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { usePostgres, useRedis } from '../libs/cache/test/harness';
import { startSampleApp } from './sample-app';

const SAMPLES = path.join(__dirname, '../apps/sample/samples');
const PDF = readFileSync(path.join(SAMPLES, 'contract.pdf')).toString('base64');
const PNG = readFileSync(path.join(SAMPLES, 'receipt.png')).toString('base64');

/**
 * The sample on Redis + PostgreSQL keeps its document work (PDF text 30 d, OCR 7 d) in the PostgreSQL cold
 * tier: after FLUSHALL on Redis and a restart of the app (L1 gone too), the same documents are served with
 * no PDF.js or Tesseract run, and the values are promoted back to Redis.
 */
describe('sample app: document work survives a Redis flush and a restart (L3 on PostgreSQL)', () => {
  const redis = useRedis();
  const pg = usePostgres();
  let app: INestApplication | undefined;
  const env = () => ({ REDIS_URL: redis.url, DATABASE_URL: pg.url, SAMPLE_LATENCY_MS: '2', OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined });
  const upload = (body: object) => request(app!.getHttpServer()).post('/documents').set('X-Tenant-Id', 'acme').send(body).expect(200);

  afterAll(async () => {
    await app?.close();
  });

  it('after FLUSHALL and a restart: 0 PDF.js and OCR runs, values promoted back to Redis', async () => {
    app = await startSampleApp(env());
    const pdf = await upload({ contentBase64: PDF, filename: 'contract.pdf' });
    const png = await upload({ contentBase64: PNG, filename: 'receipt.png' });
    expect(pdf.body.work.cache).toBe('miss');
    expect(png.body.work).toMatchObject({ engine: 'tesseract', cache: 'miss' });
    const cold = await pg.process.query<{ n: number }>("SELECT count(*)::int AS n FROM strata_cache WHERE key LIKE 'sample:%'");
    expect(cold[0].n).toBeGreaterThanOrEqual(2);
    await app.close();
    app = undefined;

    const admin = redis.client();
    try {
      await admin.flushall();
      expect(await admin.dbsize()).toBe(0);
      app = await startSampleApp(env());
      const pdfAgain = await upload({ contentBase64: PDF, filename: 'contract.pdf' });
      const pngAgain = await upload({ contentBase64: PNG, filename: 'receipt.png' });
      // The work was not done again: both texts came from the cold tier.
      expect(pdfAgain.body.work).toMatchObject({ cache: 'hit', savedMs: pdf.body.work.firstRunMs });
      expect(pngAgain.body.work).toMatchObject({ cache: 'hit', savedMs: png.body.work.firstRunMs });
      expect(pdfAgain.body.text).toBe(pdf.body.text);
      expect(pngAgain.body.text).toContain('RECEIPT 1042');
      // Promoted: Redis holds document entries again.
      const promoted = (await admin.keys('sample:*')).filter((key) => key.includes(':documents:'));
      expect(promoted.length).toBeGreaterThanOrEqual(2);
    } finally {
      admin.disconnect();
    }
  }, 180_000);
});
