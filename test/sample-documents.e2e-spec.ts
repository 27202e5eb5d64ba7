import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { useRedis } from '../libs/cache/test/harness';
import { type SampleApp, startSample } from './sample-app';

const SPEC = [
  '# Payment service specification',
  '',
  'The service must support card and bank payments. It includes a feature for refunds.',
  'Every request shall be authenticated. The dashboard provides daily reports.',
  '',
  '## Limits',
  '',
  'Payments above 10,000 EUR require a second approval.',
].join('\n');

const SAMPLES = path.join(__dirname, '../apps/sample/samples');
const PDF = readFileSync(path.join(SAMPLES, 'contract.pdf')).toString('base64');
const PNG = readFileSync(path.join(SAMPLES, 'receipt.png')).toString('base64');

/** The document routes over HTTP: real PDF text extraction and OCR, content-addressed ids, parse/extraction caches, tenants. */
describe.each(['memory', 'redis'] as const)('sample app document routes (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    // Latency high enough that a cached upload is measurably faster than the first one.
    sample = await startSample({ redisUrl: redis?.url, env: { SAMPLE_LATENCY_MS: '20' } });
  });
  afterAll(() => sample?.close());

  const upload = (body: object, tenant = 'acme') => request(sample.server).post('/documents').set('X-Tenant-Id', tenant).send(body);

  it('processes a document once; the same bytes again come from the cache, in milliseconds', async () => {
    const first = await upload({ content: SPEC, filename: 'spec.md' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body.id).toMatch(/^[0-9a-f]{64}$/);
    expect(first.body.parse.sections.map((s: { heading: string }) => s.heading)).toEqual(['Payment service specification', 'Limits']);
    expect(first.body.extraction.requirements).toEqual(
      expect.arrayContaining(['The service must support card and bank payments.', 'Every request shall be authenticated.']),
    );
    expect(first.body.extraction.features).toEqual(expect.arrayContaining(['It includes a feature for refunds.']));
    expect(first.body.extraction.metadata.words).toBeGreaterThan(20);
    expect(first.body.cache).toMatchObject({ parse: 'miss', extraction: { features: 'miss', requirements: 'miss', metadata: 'miss' } });
    expect(first.body.work).toEqual({ engine: 'none', cache: 'none', firstRunMs: 0, savedMs: 0 });

    const second = await upload({ content: SPEC }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.extraction).toEqual(first.body.extraction);
    expect(second.body.cache).toMatchObject({ all: 'hit', parse: 'hit' });
    // First: the model's extraction (≥ 15 ms simulated); second: no backend at all.
    expect(first.body.ms).toBeGreaterThanOrEqual(15);
    expect(second.body.ms).toBeLessThan(first.body.ms);

    const same = await upload({ contentBase64: Buffer.from(SPEC).toString('base64') }).expect(200);
    expect(same.body.id).toBe(first.body.id);
    expect(same.headers['x-cache']).toBe('HIT');
  });

  it('keeps tenants apart: another tenant neither sees nor reuses the results', async () => {
    const mine = await upload({ content: SPEC + '\nTenant test.' }).expect(200);
    await request(sample.server).get(`/documents/${mine.body.id}`).set('X-Tenant-Id', 'acme').expect(200);
    await request(sample.server).get(`/documents/${mine.body.id}`).set('X-Tenant-Id', 'globex').expect(404);
    const theirs = await upload({ content: SPEC + '\nTenant test.' }, 'globex').expect(200);
    expect(theirs.body.id).toBe(mine.body.id);
    expect(theirs.headers['x-cache']).toBe('MISS');
  });

  it('reads a PDF with PDF.js once per tenant: the second upload is a hit that reports the time it saved', async () => {
    const first = await upload({ contentBase64: PDF, filename: 'contract.pdf' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body).toMatchObject({ kind: 'pdf', pages: 1 });
    expect(first.body.text).toContain('Supply agreement between Acme and Globex');
    expect(first.body.text).toContain('The supplier must deliver the invoices monthly.');
    expect(first.body.extraction.requirements).toEqual(['The supplier must deliver the invoices monthly.']);
    expect(first.body.work).toMatchObject({ engine: 'pdf.js', cache: 'miss', savedMs: 0 });
    expect(first.body.work.firstRunMs).toBeGreaterThan(0);

    const second = await upload({ contentBase64: PDF }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.text).toBe(first.body.text);
    expect(second.body.work).toEqual({ engine: 'pdf.js', cache: 'hit', firstRunMs: first.body.work.firstRunMs, savedMs: first.body.work.firstRunMs });

    const meta = await request(sample.server).get(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme').expect(200);
    expect(meta.body).toMatchObject({ kind: 'pdf', title: 'Supply agreement', filename: 'contract.pdf', pages: 1 });
    expect(meta.body.text).toBeUndefined();
    expect(meta.headers['x-cache']).toBe('MISS');
    expect((await request(sample.server).get(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme')).headers['x-cache']).toBe('HIT');
    // Another tenant does the work again (and cannot read the first tenant's document).
    await request(sample.server).get(`/documents/${first.body.id}`).set('X-Tenant-Id', 'globex').expect(404);
    expect((await upload({ contentBase64: PDF }, 'globex').expect(200)).body.work.cache).toBe('miss');
  });

  it('reads an image with Tesseract OCR once; a delete evicts the cached text and the cached response', async () => {
    const first = await upload({ contentBase64: PNG, filename: 'receipt.png' }).expect(200);
    expect(first.body).toMatchObject({ kind: 'image', work: { engine: 'tesseract', cache: 'miss' } });
    expect(first.body.text).toContain('RECEIPT 1042');
    expect(first.body.text).toContain('4200 EUR');
    const second = await upload({ contentBase64: PNG }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.work).toMatchObject({ cache: 'hit', savedMs: first.body.work.firstRunMs });

    const stats = await request(sample.server).get('/dashboard/data').expect(200);
    expect(stats.body.documents.ocr.hits).toBeGreaterThanOrEqual(1);
    expect(stats.body.documents.ocr.savedMs).toBeGreaterThanOrEqual(first.body.work.firstRunMs);
    expect(stats.body.documents.ocr.savedCost).toBeGreaterThan(0);

    await request(sample.server).get(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme').expect(200);
    await request(sample.server).delete(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme').expect(204);
    await request(sample.server).get(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme').expect(404);
    await request(sample.server).delete(`/documents/${first.body.id}`).set('X-Tenant-Id', 'acme').expect(404);
    const again = await upload({ contentBase64: PNG }).expect(200);
    expect(again.body.work.cache).toBe('miss');
    expect(again.headers['x-cache']).toBe('MISS');
  });

  it('serves one extracted component of a known document', async () => {
    const doc = await upload({ content: SPEC + '\nComponents.' }).expect(200);
    const requirements = await request(sample.server).get(`/documents/${doc.body.id}/extract/requirements`).set('X-Tenant-Id', 'acme').expect(200);
    expect(requirements.headers['x-cache']).toBe('HIT');
    expect(requirements.body.value).toEqual(doc.body.extraction.requirements);
    await request(sample.server).get(`/documents/${doc.body.id}/extract/secrets`).set('X-Tenant-Id', 'acme').expect(404);
    await request(sample.server).get(`/documents/${'0'.repeat(64)}/extract/features`).set('X-Tenant-Id', 'acme').expect(404);
  });

  it('refuses an empty or ambiguous upload', async () => {
    await upload({}).expect(400);
    await upload({ content: 'a', contentBase64: 'YQ==' }).expect(400);
    await upload({ content: '' }).expect(400);
    await upload({ contentBase64: Buffer.from([0, 1, 2, 3, 255, 254]).toString('base64') }).expect(415);
  });
});

describe('sample app document routes without Tesseract', () => {
  let sample: SampleApp;
  beforeAll(async () => {
    sample = await startSample({ env: { TESSERACT_PATH: '/nonexistent/tesseract' } });
  });
  afterAll(() => sample?.close());

  it('says OCR is unavailable (503) and caches nothing; PDFs still work', async () => {
    const refused = await request(sample.server).post('/documents').send({ contentBase64: PNG }).expect(503);
    expect(refused.body.message).toMatch(/OCR is unavailable: install Tesseract/);
    await request(sample.server).post('/documents').send({ contentBase64: PNG }).expect(503);
    const pdf = await request(sample.server).post('/documents').send({ contentBase64: PDF }).expect(200);
    expect(pdf.body.text).toContain('Payment is due within thirty days of receipt.');
  });
});
