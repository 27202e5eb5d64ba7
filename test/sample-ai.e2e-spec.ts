import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { useRedis, waitFor, waitForValue } from '../libs/cache/test/harness';
import { type SampleApp, parseSse, startSample } from './sample-app';

/** The AI routes over HTTP: exact, semantic and stale hits, streams, transcription, tenants. */
describe.each(['memory', 'redis'] as const)('sample app AI routes (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    sample = await startSample({ redisUrl: redis?.url });
  });
  afterAll(() => sample?.close());

  const complete = (body: object, tenant = 'acme') =>
    request(sample.server).post('/ai/complete').set('X-Tenant-Id', tenant).send(body);

  it('answers a prompt, then serves it from the cache with what it saved', async () => {
    const first = await complete({ prompt: 'Explain what a cache stampede is', operation: 'qa' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body).toMatchObject({ model: 'sim-gpt-small', cache: { status: 'miss' } });
    expect(first.body.text).toMatch(/^Answer: /);
    expect(first.body.usage.promptTokens).toBeGreaterThan(0);
    expect(first.body.usage.completionTokens).toBeGreaterThan(0);
    expect(first.body.cost).toBeGreaterThan(0);
    const second = await complete({ prompt: 'Explain  what a cache stampede is ', operation: 'qa' }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toMatchObject({ text: first.body.text, cost: 0, cache: { status: 'exact' } });
    expect(second.body.cache.saved).toBeCloseTo(first.body.cost, 12);
  });

  it('answers a rephrased question semantically, with its similarity, and never a different one', async () => {
    await complete({ prompt: 'How do I reset my password?', operation: 'qa' }).expect(200);
    const similar = await complete({ prompt: 'how can I reset my password', operation: 'qa' }).expect(200);
    expect(similar.headers['x-cache']).toBe('SEMANTIC');
    expect(Number(similar.headers['x-cache-similarity'])).toBeGreaterThanOrEqual(0.85);
    expect(similar.body.cache).toMatchObject({ status: 'semantic', matchedPrompt: 'How do I reset my password?' });
    const different = await complete({ prompt: 'How do I reset my username?', operation: 'qa' }).expect(200);
    expect(different.headers['x-cache']).toBe('MISS');
  });

  it('keeps models, temperatures and tenants apart', async () => {
    await complete({ prompt: 'Name three prime numbers', temperature: 0 }).expect(200);
    expect((await complete({ prompt: 'Name three prime numbers', temperature: 0 })).headers['x-cache']).toBe('HIT');
    expect((await complete({ prompt: 'Name three prime numbers', temperature: 1 })).headers['x-cache']).toBe('MISS');
    expect((await complete({ prompt: 'Name three prime numbers', temperature: 0, model: 'sim-gpt-large' })).headers['x-cache']).toBe('MISS');
    expect((await complete({ prompt: 'Name three prime numbers', temperature: 0 }, 'globex')).headers['x-cache']).toBe('MISS');
  });

  it('caches chat messages and classifies sentiment with a confidence', async () => {
    const messages = [
      { role: 'system', content: 'You are brief.' },
      { role: 'user', content: 'What is Redis?' },
    ];
    expect((await complete({ messages })).headers['x-cache']).toBe('MISS');
    expect((await complete({ messages })).headers['x-cache']).toBe('HIT');
    const sentiment = await complete({ prompt: 'I love this phone, it is great', operation: 'sentiment' }).expect(200);
    expect(sentiment.body.text).toBe('positive');
  });

  it('refuses malformed requests with a message', async () => {
    const both = await complete({ prompt: 'x', messages: [{ role: 'user', content: 'x' }] }).expect(400);
    expect(both.body.message).toMatch(/exactly one of prompt/);
    await complete({ prompt: 'x', temperature: 5 }).expect(400);
    await complete({ prompt: 'x', operation: 'hack' }).expect(400);
    await request(sample.server).post('/ai/complete').set('X-Tenant-Id', 'bad tenant!').send({ prompt: 'x' }).expect(400);
  });

  it('streams an answer as server-sent events and replays it from the cache', async () => {
    const first = await request(sample.server).post('/ai/complete/stream').set('X-Tenant-Id', 'acme').send({ prompt: 'Write a haiku about caches' }).expect(200);
    expect(first.headers['content-type']).toMatch(/text\/event-stream/);
    expect(first.headers['x-cache']).toBe('MISS');
    const events = parseSse(first.text);
    expect(events[0]).toEqual({ event: 'meta', data: { cache: { status: 'miss' } } });
    const pieces = events.filter((e) => e.event === 'message').map((e) => (e.data as { text: string }).text);
    expect(pieces.length).toBeGreaterThan(5);
    const done = events[events.length - 1];
    expect(done.event).toBe('done');
    expect((done.data as { cost: number }).cost).toBeGreaterThan(0);

    const callsAfterFirst = (await request(sample.server).get('/ai/stats')).body.calls as number;
    expect(callsAfterFirst).toBeGreaterThanOrEqual(1);
    // The recording is stored once the stream has ended, a moment after its last event went out: a request in
    // that moment joins the run and is replayed from it (MISS, no second model call); the next one is a HIT.
    const again = await waitForValue(
      () => request(sample.server).post('/ai/complete/stream').set('X-Tenant-Id', 'acme').send({ prompt: 'Write a haiku about caches' }).expect(200),
      (res) => res.headers['x-cache'] === 'HIT',
      { message: 'the streamed answer to be served from the cache' },
    );
    expect((await request(sample.server).get('/ai/stats')).body.calls).toBe(callsAfterFirst); // no second model call
    const replayed = parseSse(again.text);
    expect(replayed.filter((e) => e.event === 'message').map((e) => (e.data as { text: string }).text)).toEqual(pieces);
    expect((replayed[replayed.length - 1].data as { cost: number }).cost).toBe(0);
    // The non-streaming route sees the recorded answer too.
    const whole = await complete({ prompt: 'Write a haiku about caches' }).expect(200);
    expect(whole.body.text).toBe(pieces.join(''));
  });

  it('transcribes audio once per content hash and tenant', async () => {
    const audio = Buffer.alloc(48_000, 7).toString('base64');
    const first = await request(sample.server).post('/ai/transcribe').set('X-Tenant-Id', 'acme').send({ audioBase64: audio }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body.hash).toMatch(/^[0-9a-f]{64}$/);
    const again = await request(sample.server).post('/ai/transcribe').set('X-Tenant-Id', 'acme').send({ audioBase64: audio }).expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body.text).toBe(first.body.text);
    const other = await request(sample.server).post('/ai/transcribe').set('X-Tenant-Id', 'acme').send({ audioBase64: Buffer.alloc(48_000, 8).toString('base64') });
    expect(other.headers['x-cache']).toBe('MISS');
    expect((await request(sample.server).post('/ai/transcribe').set('X-Tenant-Id', 'globex').send({ audioBase64: audio })).headers['x-cache']).toBe('MISS');
    await request(sample.server).post('/ai/transcribe').send({}).expect(400);
  });

  it('serves a stale answer within grace and refreshes it', async () => {
    await complete({ prompt: 'What is the tallest mountain?', operation: 'qa' }).expect(200);
    // qa: 30 min, doubled for a confident answer (0.9); the ai cache's grace is 10 min.
    sample.clock.advance(60 * 60_000 + 60_000);
    const stale = await complete({ prompt: 'What is the tallest mountain?', operation: 'qa' }).expect(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body.cache.status).toBe('stale');
    // The background refresh lands; from then on the answer is fresh again.
    await waitFor(async () => (await complete({ prompt: 'What is the tallest mountain?', operation: 'qa' })).headers['x-cache'] === 'HIT');
  });

  it('reports hits, tokens and money saved', async () => {
    const stats = (await request(sample.server).get('/ai/stats').expect(200)).body;
    expect(stats.hits.exact).toBeGreaterThan(0);
    expect(stats.hits.semantic).toBeGreaterThan(0);
    expect(stats.hits.stale).toBeGreaterThan(0);
    expect(stats.saved.tokens).toBeGreaterThan(0);
    expect(stats.saved.cost).toBeGreaterThan(0);
    expect(stats.byModel['sim-gpt-small'].hits).toBeGreaterThan(0);
  });
});

describe.each(['memory', 'redis'] as const)('sample app AI streams with a slow model (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    // A slow model (~400 ms, streamed word by word): concurrent requests overlap, a client can leave midway.
    sample = await startSample({ redisUrl: redis?.url, env: { SAMPLE_LATENCY_MS: '400' } });
  });
  afterAll(() => sample?.close());

  it('streams one model call to concurrent identical requests', async () => {
    const before = (await request(sample.server).get('/ai/stats').expect(200)).body;
    const body = { prompt: 'Describe the water cycle in detail' };
    const [a, b] = await Promise.all([
      request(sample.server).post('/ai/complete/stream').set('X-Tenant-Id', 'acme').send(body),
      request(sample.server).post('/ai/complete/stream').set('X-Tenant-Id', 'acme').send(body),
    ]);
    const text = (r: request.Response) => parseSse(r.text).filter((e) => e.event === 'message').map((e) => (e.data as { text: string }).text).join('');
    expect(text(a)).toBe(text(b));
    const after = (await request(sample.server).get('/ai/stats').expect(200)).body;
    expect(after.calls - before.calls).toBe(1);
    expect(after.coalesced - before.coalesced).toBe(1);
  });


  it('stops the model stream and caches nothing when the only client hangs up', async () => {
    const { port } = sample.server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/ai/complete/stream', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy(); // after the meta event: the client is gone
          resolve();
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end(JSON.stringify({ prompt: 'Tell me a very long story about caches' }));
    });
    await waitFor(async () => (await request(sample.server).get('/ai/stats')).body.skipped.streamAbandoned === 1);
    const again = await request(sample.server).post('/ai/complete').send({ prompt: 'Tell me a very long story about caches' }).expect(200);
    expect(again.headers['x-cache']).toBe('MISS');
  });
});
