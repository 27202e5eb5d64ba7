import request from 'supertest';
import { useRedis } from './harness';
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

/** The document routes over HTTP: content-addressed ids, OCR/parse/extraction caches, chunks, tenants. */
describe.each(['memory', 'redis'] as const)('sample app document routes (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    // Latency high enough that a cached upload is measurably faster; small chunks so "large" stays small here.
    sample = await startSample({ redisUrl: redis?.url, env: { SAMPLE_LATENCY_MS: '20', SAMPLE_CHUNK_BYTES: '1024' } });
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

    const second = await upload({ content: SPEC }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.extraction).toEqual(first.body.extraction);
    expect(second.body.cache).toMatchObject({ all: 'hit', parse: 'hit', ocr: { computed: 0 } });
    // First: OCR (≥ 22 ms) + parsing (≥ 7 ms) + extraction (≥ 15 ms); second: no backend at all.
    expect(first.body.ms).toBeGreaterThanOrEqual(40);
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

  it('splits large documents in chunks and reuses the chunks an edited version shares', async () => {
    const large = Array.from({ length: 120 }, (_, i) => `Line ${i}: the system must keep record ${i} for audit.`).join('\n');
    const first = await upload({ content: large }).expect(200);
    expect(first.body.chunks).toBe(Math.ceil(Buffer.byteLength(large) / 1024));
    expect(first.body.cache.ocr).toEqual({ cached: 0, computed: first.body.chunks });
    const edited = await upload({ content: large + '\nOne more line.' }).expect(200);
    expect(edited.body.id).not.toBe(first.body.id);
    // Every chunk but the last one is unchanged; the last one (and any the new line spills into) is new.
    expect(edited.body.cache.ocr.cached).toBe(first.body.chunks - 1);
    expect(edited.body.cache.ocr.computed).toBe(edited.body.chunks - (first.body.chunks - 1));
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
  });
});
