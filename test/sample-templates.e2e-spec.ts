import request from 'supertest';
import { useRedis } from '../libs/cache/test/harness';
import { type SampleApp, startSample } from './sample-app';

/** The template routes over HTTP: scores, matching, semantic matching, rendering, event-driven invalidation. */
describe.each(['memory', 'redis'] as const)('sample app template routes (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    sample = await startSample({ redisUrl: redis?.url });
  });
  afterAll(() => sample?.close());

  const post = (path: string, body: object) => request(sample.server).post(path).send(body);
  const xCache = (r: request.Response) => r.headers['x-cache'];

  it('lists templates and serves one from the cache the second time', async () => {
    const list = await request(sample.server).get('/templates').expect(200);
    expect(list.body.length).toBeGreaterThanOrEqual(10);
    expect(xCache(await request(sample.server).get('/templates/rfc').expect(200))).toBe('MISS');
    const again = await request(sample.server).get('/templates/rfc').expect(200);
    expect(xCache(again)).toBe('HIT');
    expect(again.body.name).toBe('Design proposal (RFC)');
    // CacheInterceptor: a strong ETag, and 304 with no body when the client already has it.
    expect(again.headers.etag).toBeDefined();
    const unchanged = await request(sample.server).get('/templates/rfc').set('If-None-Match', again.headers.etag).expect(304);
    expect(unchanged.text).toBe('');
    expect(xCache(unchanged)).toBe('HIT');
    await request(sample.server).get('/templates/nope').expect(404);
  });

  it('caches scores by template and a hash of the context (key order does not matter)', async () => {
    const first = await post('/templates/invoice-basic/score', { context: { customer: 'acme', items: 3 } }).expect(200);
    expect(xCache(first)).toBe('MISS');
    expect(first.body.score).toBeGreaterThanOrEqual(0);
    const same = await post('/templates/invoice-basic/score', { context: { items: 3, customer: 'acme' } }).expect(200);
    expect(xCache(same)).toBe('HIT');
    expect(same.body).toEqual(first.body);
    expect(xCache(await post('/templates/invoice-basic/score', { context: { customer: 'acme', items: 4 } }))).toBe('MISS');
    expect(xCache(await post('/templates/invoice-eu/score', { context: { customer: 'acme', items: 3 } }))).toBe('MISS');
  });

  it('matches templates by category and requirements', async () => {
    const first = await post('/templates/match', { category: 'finance', requirements: ['tax', 'vat-number'] }).expect(200);
    expect(xCache(first)).toBe('MISS');
    expect(first.body[0]).toEqual({ id: 'invoice-eu', covered: 2, missing: [] });
    const reordered = await post('/templates/match', { category: 'finance', requirements: ['vat-number', 'tax', 'tax'] }).expect(200);
    expect(xCache(reordered)).toBe('HIT');
    await post('/templates/match', { category: 'finance', requirements: 'tax' }).expect(400);
  });

  it('matches templates by meaning (embeddings of name, description and category)', async () => {
    const first = await post('/templates/search', { query: 'postmortem of a production outage' }).expect(200);
    expect(xCache(first)).toBe('MISS');
    expect(first.body[0].id).toBe('incident-report');
    expect(first.body[0].similarity).toBeGreaterThan(first.body[1].similarity);
    const again = await post('/templates/search', { query: '  Postmortem of a production OUTAGE ' }).expect(200);
    expect(xCache(again)).toBe('HIT');
    expect((await post('/templates/search', { query: 'non-disclosure agreement between companies' }).expect(200)).body[0].id).toBe('nda');
  });

  it('renders a template with data, cached by a hash of the data', async () => {
    const first = await post('/templates/receipt/render', { data: { total: '$10', customer: 'Ada', method: 'card' } }).expect(200);
    expect(xCache(first)).toBe('MISS');
    expect(first.body.text).toBe('Received $10 from Ada by card.');
    expect(xCache(await post('/templates/receipt/render', { data: { customer: 'Ada', method: 'card', total: '$10' } }))).toBe('HIT');
    await post('/templates/receipt/render', { data: 'x' }).expect(400);
  });

  it('invalidates a template’s caches when it is updated (@CacheEvict on the service)', async () => {
    const context = { context: { team: 'platform' } };
    const data = { data: { title: 'Caching', decision: 'Strata' } };
    await request(sample.server).get('/templates/rfc').expect(200);
    await post('/templates/rfc/score', context).expect(200);
    await post('/templates/rfc/render', data).expect(200);
    await post('/templates/match', { category: 'engineering', requirements: ['decision'] }).expect(200);
    await post('/templates/search', { query: 'technical design proposal' }).expect(200);
    // All cached now; another template's cached score must survive the update.
    await post('/templates/nda/score', context).expect(200);
    expect(xCache(await post('/templates/rfc/score', context))).toBe('HIT');

    const updated = await request(sample.server).put('/templates/rfc').send({ body: 'RFC {{title}} — decided: {{decision}}.' }).expect(200);
    expect(updated.body.version).toBe(2);

    const fresh = await request(sample.server).get('/templates/rfc').expect(200);
    expect(xCache(fresh)).toBe('MISS');
    expect(fresh.body.version).toBe(2);
    const score = await post('/templates/rfc/score', context).expect(200);
    expect(xCache(score)).toBe('MISS');
    expect(score.body.version).toBe(2);
    const render = await post('/templates/rfc/render', data).expect(200);
    expect(xCache(render)).toBe('MISS');
    expect(render.body.text).toBe('RFC Caching — decided: Strata.');
    expect(xCache(await post('/templates/match', { category: 'engineering', requirements: ['decision'] }))).toBe('MISS');
    expect(xCache(await post('/templates/search', { query: 'technical design proposal' }))).toBe('MISS');
    expect(xCache(await post('/templates/nda/score', context))).toBe('HIT');
    await request(sample.server).put('/templates/rfc').send({ id: 'other' }).expect(400);
  });
});
