import request from 'supertest';
import { useRedis } from '../libs/cache/test/harness';
import { type SampleApp, startSample } from './sample-app';

/** Users, sessions, conversations and the rate limiter over HTTP. */
describe.each(['memory', 'redis'] as const)('sample app user routes (%s)', (mode) => {
  const redis = mode === 'redis' ? useRedis() : undefined;
  let sample: SampleApp;
  beforeAll(async () => {
    sample = await startSample({ redisUrl: redis?.url, env: { SAMPLE_RATE_LIMIT: '3' } });
  });
  afterAll(() => sample?.close());

  const as = (tenant = 'acme') => ({
    get: (path: string) => request(sample.server).get(path).set('X-Tenant-Id', tenant),
    post: (path: string, body: object = {}) => request(sample.server).post(path).set('X-Tenant-Id', tenant).send(body),
    put: (path: string, body: object) => request(sample.server).put(path).set('X-Tenant-Id', tenant).send(body),
    delete: (path: string) => request(sample.server).delete(path).set('X-Tenant-Id', tenant),
  });

  it('caches a user, and an update invalidates what is cached about them', async () => {
    expect((await as().get('/users/ada').expect(200)).headers['x-cache']).toBe('MISS');
    expect((await as().get('/users/ada').expect(200)).headers['x-cache']).toBe('HIT');
    expect((await as('globex').get('/users/ada').expect(200)).headers['x-cache']).toBe('MISS');
    await as().post('/conversations', { userId: 'ada', title: 'Billing' }).expect(201);
    await as().get('/users/ada/conversations').expect(200);
    expect((await as().get('/users/ada/conversations')).headers['x-cache']).toBe('HIT');

    const updated = await as().put('/users/ada', { name: 'Ada Lovelace', plan: 'pro' }).expect(200);
    expect(updated.body).toMatchObject({ name: 'Ada Lovelace', plan: 'pro' });
    const after = await as().get('/users/ada').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.name).toBe('Ada Lovelace');
    expect((await as().get('/users/ada/conversations')).headers['x-cache']).toBe('MISS');
    // The other tenant's Ada is untouched.
    expect((await as('globex').get('/users/ada')).body.name).toBe('User ada');
    await as().put('/users/ada', { plan: 'gold' }).expect(400);
  });

  it('caches /me per user (req.user from the guard), and a user update evicts it', async () => {
    const me = (user: string, tenant = 'acme') => as(tenant).get('/me').set('X-User-Id', user);
    const first = await me('gus').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers['cache-control']).toBe('private, max-age=60');
    expect(first.body).toMatchObject({ id: 'gus', name: 'User gus' });
    expect((await me('gus').expect(200)).headers['x-cache']).toBe('HIT');
    // Another user, and the same user id in another tenant, get their own entries.
    expect((await me('hal').expect(200)).body.id).toBe('hal');
    const elsewhere = await me('gus', 'globex').expect(200);
    expect(elsewhere.headers['x-cache']).toBe('MISS');
    expect(elsewhere.body.email).toBe('gus@globex.example');
    await as().put('/users/gus', { name: 'Gus Grissom' }).expect(200);
    const after = await me('gus').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.name).toBe('Gus Grissom');
    expect((await me('gus', 'globex')).headers['x-cache']).toBe('HIT');
    await as().get('/me').expect(400);
  });

  it('keeps sessions in the cache until they end', async () => {
    const session = await as().post('/users/bob/sessions').expect(201);
    const read = await as().get(`/sessions/${session.body.id}`).expect(200);
    expect(read.body).toMatchObject({ id: session.body.id, userId: 'bob' });
    await as('globex').get(`/sessions/${session.body.id}`).expect(404);
    await as().delete(`/sessions/${session.body.id}`).expect(204);
    await as().get(`/sessions/${session.body.id}`).expect(404);
  });

  it('caches conversations by status: 5 minutes while active, 24 hours once completed', async () => {
    const active = (await as().post('/conversations', { userId: 'cy' }).expect(201)).body;
    const completed = (await as().post('/conversations', { userId: 'cy' }).expect(201)).body;
    const reply = await as().post(`/conversations/${completed.id}/messages`, { content: 'Hello!' }).expect(200);
    expect(reply.body.reply).toMatch(/^Answer: /);
    const status = await as().put(`/conversations/${completed.id}/status`, { status: 'completed' }).expect(200);
    expect(status.body.ttlMs).toBe(24 * 3_600_000);
    expect((await as().get(`/conversations/${active.id}`)).headers['x-cache']).toBe('HIT');
    expect((await as().get(`/conversations/${completed.id}`)).headers['x-cache']).toBe('HIT');
    if (redis) {
      const client = redis.client();
      const ttlOf = async (id: string) => {
        const [, keys] = await client.scan('0', 'MATCH', `*conversation%3A${id}`, 'COUNT', 1000);
        return client.pttl(keys[0]);
      };
      expect(await ttlOf(active.id)).toBeLessThanOrEqual(5 * 60_000);
      expect(await ttlOf(completed.id)).toBeGreaterThan(23 * 3_600_000);
    }
    sample.clock.advance(6 * 60_000);
    const activeLater = await as().get(`/conversations/${active.id}`).expect(200);
    expect(activeLater.headers['x-cache']).toBe('MISS');
    const completedLater = await as().get(`/conversations/${completed.id}`).expect(200);
    expect(completedLater.headers['x-cache']).toBe('HIT');
    expect(completedLater.body.messages).toHaveLength(2);
    await as().post(`/conversations/${completed.id}/messages`, { content: 'More?' }).expect(400);
    await as().put(`/conversations/${active.id}/status`, { status: 'archived' }).expect(400);
  });

  it('answers the same conversation so far from the AI cache', async () => {
    const one = (await as().post('/conversations', { userId: 'dee' }).expect(201)).body;
    const two = (await as().post('/conversations', { userId: 'dee' }).expect(201)).body;
    const first = await as().post(`/conversations/${one.id}/messages`, { content: 'What is a CDN?' }).expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await as().post(`/conversations/${two.id}/messages`, { content: 'What is a CDN?' }).expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.reply).toBe(first.body.reply);
  });

  it('rate-limits actions per user with increment', async () => {
    for (let i = 1; i <= 3; i++) {
      const ok = await as().post('/users/eve/actions').expect(200);
      expect(ok.body).toEqual({ count: i, limit: 3, remaining: 3 - i });
    }
    const limited = await as().post('/users/eve/actions').expect(429);
    expect(limited.body).toMatchObject({ limit: 3, count: 4 });
    // Per user and per tenant.
    await as().post('/users/frank/actions').expect(200);
    await as('globex').post('/users/eve/actions').expect(200);
  });
});
