import { startRedis, useRedis, waitFor } from './harness';
import type { AiRequest } from '../src/ai';
import { AiFactory, FakeModel, fakeStream, readAll } from './ai-factory';

/** The exact AI cache on a real Redis: keys, rules, TTLs, concurrency, cost, invalidation, streams. */
describe('AiResponseCache (Redis)', () => {
  const redis = useRedis();
  const factory = new AiFactory();
  let prefix = 0;
  // Every test gets its own key prefix on the shared server.
  const make = (ai: Parameters<AiFactory['create']>[1] = {}, cache: Parameters<AiFactory['create']>[0] = {}, fakeClock = false) =>
    factory.create({ redis: redis.url, prefix: `t${++prefix}`, ...cache }, { semantic: false, ...ai }, { fakeClock });
  afterEach(() => factory.closeAll());

  const ask = (prompt: string, extra: Partial<AiRequest> = {}): AiRequest => ({ model: 'gpt-4o-mini', prompt, ...extra });

  describe('the key', () => {
    it('normalizes whitespace always and case only when asked', async () => {
      const { ai } = await make();
      expect(ai.keyOf(ask('What is  Redis?\n'))).toBe(ai.keyOf(ask(' What is Redis?')));
      expect(ai.keyOf(ask('What is Redis?'))).not.toBe(ai.keyOf(ask('what is redis?')));
      const folding = (await make({ normalizeCase: true })).ai;
      expect(folding.keyOf(ask('What is Redis?'))).toBe(folding.keyOf(ask('what is redis?')));
    });

    it('includes every answer-changing parameter and leaves out ids, timestamps and users', async () => {
      const { ai } = await make();
      const base = ai.keyOf(ask('Hello'));
      const changed: Array<Partial<AiRequest>> = [
        { model: 'gpt-4o' },
        { provider: 'anthropic' },
        { operation: 'summarize' },
        { temperature: 0.7 },
        { topP: 0.9 },
        { maxTokens: 100 },
        { tools: [{ type: 'function', function: { name: 'weather' } }] },
        { responseFormat: { type: 'json_object' } },
        { system: 'You are terse.' },
        { stop: ['\n'] },
        { seed: 7 },
        { params: { presence_penalty: 0.5 } },
      ];
      const keys = changed.map((extra) => ai.keyOf(ask('Hello', extra)));
      expect(new Set([base, ...keys]).size).toBe(changed.length + 1);
      for (const ignored of [{ requestId: 'r-1' }, { timestamp: 1700000000 }, { user: 'u-42' }, { request_id: 'x' }]) {
        expect(ai.keyOf(ask('Hello', { params: ignored }))).toBe(base);
      }
      // Key order inside objects does not matter.
      expect(ai.keyOf(ask('Hello', { responseFormat: { type: 'json_schema', strict: true } }))).toBe(
        ai.keyOf(ask('Hello', { responseFormat: { strict: true, type: 'json_schema' } })),
      );
      const perUser = (await make({ includeUser: true })).ai;
      expect(perUser.keyOf(ask('Hello', { params: { user: 'a' } }))).not.toBe(perUser.keyOf(ask('Hello', { params: { user: 'b' } })));
    });

    it('tells a prompt from the same text as a chat message, and roles apart', async () => {
      const { ai } = await make();
      const prompt = ai.keyOf(ask('Hi'));
      const user = ai.keyOf({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
      const assistant = ai.keyOf({ model: 'gpt-4o-mini', messages: [{ role: 'assistant', content: 'Hi' }] });
      expect(new Set([prompt, user, assistant]).size).toBe(3);
      expect(() => ai.keyOf({ model: 'm' } as AiRequest)).toThrow(/exactly one of prompt/);
    });
  });

  describe('what is cached', () => {
    it('serves the second identical request from the cache, with what it saved', async () => {
      const { ai } = await make({ prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } } });
      const model = new FakeModel();
      const first = await ai.getOrCall(ask('Explain Redis'), () => model.complete('Explain Redis'));
      expect(first).toMatchObject({ status: 'miss', stored: true });
      const second = await ai.getOrCall(ask('Explain  Redis'), () => model.complete('x'));
      expect(second.status).toBe('exact');
      expect(second.response.output).toBe('answer to: Explain Redis');
      expect(second.saved).toMatchObject({ promptTokens: 100, completionTokens: 50 });
      expect(second.saved!.cost).toBeCloseTo((100 * 0.15 + 50 * 0.6) / 1e6, 12);
      expect(model.calls).toBe(1);
    });

    it('does not cache errors, noCache, low confidence, oversized answers or oversized input', async () => {
      const { ai } = await make({ minConfidence: 0.6, maxResponseBytes: 1000, maxInputLength: 50 });
      const model = new FakeModel();
      const cases: Array<[string, () => Promise<{ output: string }>, string]> = [
        ['error', () => model.complete('a', { error: 'rate limited' }), 'error'],
        ['noCache', () => model.complete('b', { noCache: true }), 'noCache'],
        ['low', () => model.complete('c', { confidence: 0.5 }), 'lowConfidence'],
        ['big', async () => ({ output: 'x'.repeat(1001) }), 'tooLarge'],
        ['long '.repeat(20), () => model.complete('d'), 'inputTooLong'],
      ];
      for (const [prompt, call, reason] of cases) {
        const result = await ai.getOrCall(ask(prompt), call);
        expect(result).toMatchObject({ status: 'miss', stored: false, skipped: reason });
        expect((await ai.getOrCall(ask(prompt), call)).status).toBe('miss');
      }
      expect(ai.stats().skipped).toEqual({ error: 2, noCache: 2, lowConfidence: 2, tooLarge: 2, inputTooLong: 2 });
      // A confident answer is cached.
      await ai.getOrCall(ask('ok'), () => model.complete('ok', { confidence: 0.8 }));
      expect((await ai.getOrCall(ask('ok'), () => model.complete('ok'))).status).toBe('exact');
    });

    it('passes a failing call through, caches nothing, and calls again next time', async () => {
      const { ai } = await make();
      let calls = 0;
      const failing = async () => {
        calls += 1;
        throw new Error('upstream 503');
      };
      await expect(ai.getOrCall(ask('q'), failing)).rejects.toThrow('upstream 503');
      await expect(ai.getOrCall(ask('q'), failing)).rejects.toThrow('upstream 503');
      expect(calls).toBe(2);
      expect(ai.stats().callErrors).toBe(2);
    });

    it('runs one model call for concurrent identical requests', async () => {
      const { ai } = await make();
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const call = async () => {
        calls += 1;
        await gate;
        return { output: 'shared' };
      };
      const all = Array.from({ length: 20 }, () => ai.getOrCall(ask('same question'), call));
      // The 20 calls join one getOrSet run as they are made; a joined call learns it was coalesced when it ends.
      await waitFor(() => calls === 1);
      release();
      const results = await Promise.all(all);
      expect(ai.stats().coalesced).toBe(19);
      expect(calls).toBe(1);
      expect(results.every((r) => r.response.output === 'shared' && r.status === 'miss')).toBe(true);
    });

    it('lookup calls nothing: undefined on a miss, and an identical call in progress is waited for', async () => {
      const { ai } = await make();
      expect(await ai.lookup(ask('nothing here'))).toBeUndefined();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      const calling = ai.getOrCall(ask('in progress'), async () => {
        calls += 1;
        await gate;
        return { output: 'done' };
      });
      await waitFor(() => calls === 1);
      const looking = ai.lookup(ask('in progress'));
      release();
      expect((await calling).status).toBe('miss');
      expect(await looking).toMatchObject({ status: 'exact', response: { output: 'done' } });
      expect(calls).toBe(1);
    });

    it('runs one model call for identical requests on two instances sharing Redis (the stampede lock)', async () => {
      const one = await make();
      const two = await factory.create({ redis: redis.url, prefix: `t${prefix}` }, { semantic: false });
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const call = async () => {
        calls += 1;
        await gate;
        return { output: 'once' };
      };
      const first = one.ai.getOrCall(ask('across instances'), call);
      await waitFor(() => calls === 1);
      const second = two.ai.getOrCall(ask('across instances'), call); // waits for the lock holder's answer
      release();
      const [a, b] = await Promise.all([first, second]);
      expect(calls).toBe(1);
      expect([a.response.output, b.response.output]).toEqual(['once', 'once']);
      expect(a.status).toBe('miss');
      expect(b.status).toBe('exact');
    });
  });

  describe('TTL', () => {
    const HOUR = 3_600_000;

    it('keeps answers fresh by operation: summarize 2 h, sentiment 24 h, qa 30 min', async () => {
      const { ai, clock } = await make({ adaptiveTtl: false }, {}, true);
      const model = new FakeModel();
      for (const operation of ['summarize', 'sentiment', 'qa']) await ai.getOrCall(ask('text', { operation }), () => model.complete(operation));
      const status = async (operation: string) => (await ai.getOrCall(ask('text', { operation }), () => model.complete(operation))).status;
      clock.advance(30 * 60_000 - 1);
      expect(await status('qa')).toBe('exact');
      clock.advance(2);
      expect(await status('qa')).toBe('miss');
      clock.advance(2 * HOUR - 30 * 60_000);
      expect(await status('summarize')).toBe('miss');
      expect(await status('sentiment')).toBe('exact');
      clock.advance(22 * HOUR);
      expect(await status('sentiment')).toBe('miss');
    });

    it('adapts the TTL: longer for confident and costly answers, shorter for unsure ones', async () => {
      const { ai, clock } = await make({ ttl: { qa: '1h' }, prices: { big: { input: 100, output: 100 } } }, {}, true);
      const answers = [
        { name: 'confident', request: ask('a', { operation: 'qa' }), response: { output: 'a', confidence: 0.95 } },
        { name: 'unsure', request: ask('b', { operation: 'qa' }), response: { output: 'b', confidence: 0.6 } },
        { name: 'costly', request: ask('c', { operation: 'qa', model: 'big' }), response: { output: 'c', usage: { promptTokens: 100, completionTokens: 100 } } },
        { name: 'plain', request: ask('d', { operation: 'qa' }), response: { output: 'd' } },
      ];
      for (const a of answers) await ai.getOrCall(a.request, async () => a.response);
      const fresh = async () => {
        const out: string[] = [];
        for (const a of answers) if ((await ai.getOrCall(a.request, async () => a.response)).status === 'exact') out.push(a.name);
        return out;
      };
      clock.advance(HOUR / 2 + 1);
      expect(await fresh()).toEqual(['confident', 'costly', 'plain']);
      clock.advance(HOUR / 2); // 1 h + 1 ms: the plain answer (1 h) and the unsure one stored again at 30 min (30 min) expired
      expect(await fresh()).toEqual(['confident', 'costly']);
    });

    it('serves a stale answer within grace and refreshes it in the background', async () => {
      const { ai, clock } = await make({ adaptiveTtl: false, ttl: { qa: '1h' } }, { caches: { ai: { ttl: '1h', grace: '10m' } } }, true);
      let version = 0;
      const call = async () => ({ output: `v${++version}` });
      await ai.getOrCall(ask('q', { operation: 'qa' }), call);
      clock.advance(3_600_000 + 1000);
      const stale = await ai.getOrCall(ask('q', { operation: 'qa' }), call);
      expect(stale).toMatchObject({ status: 'stale', response: { output: 'v1' } });
      await waitFor(async () => (await ai.getOrCall(ask('q', { operation: 'qa' }), call)).response.output === 'v2');
      expect(version).toBe(2);
      clock.advance(3_600_000 + 11 * 60_000);
      expect((await ai.getOrCall(ask('q', { operation: 'qa' }), call)).status).toBe('miss');
    });
  });

  describe('cost accounting', () => {
    it('adds up tokens and money saved per hit, by model, with prefix prices', async () => {
      const { ai, cache } = await make({ prices: { 'gpt-4o': { input: 2.5, output: 10 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 } } });
      const call = (model: string) => async () => ({ output: 'x', model, usage: { promptTokens: 1000, completionTokens: 500 } });
      await ai.getOrCall(ask('p', { model: 'gpt-4o-2024-08-06' }), call('gpt-4o-2024-08-06'));
      await ai.getOrCall(ask('p', { model: 'gpt-4o-mini' }), call('gpt-4o-mini'));
      for (let i = 0; i < 3; i++) await ai.getOrCall(ask('p', { model: 'gpt-4o-2024-08-06' }), call('never'));
      await ai.getOrCall(ask('p', { model: 'gpt-4o-mini' }), call('never'));
      const stats = ai.stats();
      const big = (1000 * 2.5 + 500 * 10) / 1e6;
      const mini = (1000 * 0.15 + 500 * 0.6) / 1e6;
      expect(stats.hits.exact).toBe(4);
      expect(stats.saved.tokens).toBe(4 * 1500);
      expect(stats.saved.cost).toBeCloseTo(3 * big + mini, 12);
      expect(stats.byModel['gpt-4o-2024-08-06']).toEqual({ hits: 3, tokens: 4500, cost: expect.closeTo(3 * big, 12) });
      expect(stats.byModel['gpt-4o-mini'].hits).toBe(1);
      expect(stats.hitRate).toBeCloseTo(4 / 6, 10);
      // The cache stack's metrics (Prometheus, dashboard) see the same savings.
      expect(cache.stats().caches.ai.saved).toEqual({ tokens: 4 * 1500, cost: expect.closeTo(3 * big + mini, 12) });
    });
  });

  describe('invalidation and tenants', () => {
    it('keeps tenants apart and invalidates one tenant without touching another', async () => {
      const { ai } = await make();
      const model = new FakeModel();
      const acme = ai.forTenant('acme');
      const globex = ai.forTenant('globex');
      await acme.getOrCall(ask('q'), () => model.complete('acme'));
      expect((await globex.getOrCall(ask('q'), () => model.complete('globex'))).status).toBe('miss');
      expect(acme.keyOf(ask('q'))).toContain(':t=acme:');
      await ai.invalidateTenant('acme');
      expect((await acme.getOrCall(ask('q'), () => model.complete('acme'))).status).toBe('miss');
      expect((await globex.getOrCall(ask('q'), () => model.complete('globex'))).status).toBe('exact');
    });

    it('invalidates a model in one tenant, or from the root view in every tenant', async () => {
      const { ai } = await make();
      const model = new FakeModel();
      const views = [ai, ai.forTenant('a'), ai.forTenant('b')];
      const fill = async () => {
        for (const view of views) {
          await view.getOrCall(ask('q', { model: 'm1' }), () => model.complete('1'));
          await view.getOrCall(ask('q', { model: 'm2' }), () => model.complete('2'));
        }
      };
      const statuses = async (m: string) => Promise.all(views.map(async (v) => (await v.getOrCall(ask('q', { model: m }), () => model.complete(m))).status));
      await fill();
      await ai.forTenant('a').invalidateModel('m1');
      expect(await statuses('m1')).toEqual(['exact', 'miss', 'exact']);
      await ai.invalidateModel('m1');
      expect(await statuses('m1')).toEqual(['miss', 'miss', 'miss']);
      expect(await statuses('m2')).toEqual(['exact', 'exact', 'exact']);
    });

    it('finds the tenants of another instance when invalidating a model everywhere', async () => {
      // Redis only: another instance's L1 learns of invalidations through the bus, which is not this test's subject.
      const caches = { ai: { ttl: '1h' as const, tiers: ['redis' as const] } };
      const one = await make({}, { caches });
      const two = await factory.create({ redis: redis.url, prefix: `t${prefix}`, caches }, { semantic: false });
      await one.ai.forTenant('far').getOrCall(ask('q'), async () => ({ output: 'x' }));
      await two.ai.invalidateModel('gpt-4o-mini');
      expect((await one.ai.forTenant('far').getOrCall(ask('q'), async () => ({ output: 'y' }))).status).toBe('miss');
    });

    it('warms up from known answers', async () => {
      const { ai } = await make();
      const stored = await ai.warmUp([
        { input: ask('What is 2+2?'), output: '4' },
        { input: ask('Capital of France?'), output: { output: 'Paris', usage: { promptTokens: 5, completionTokens: 1 } } },
        { input: ask('refused'), output: { output: 'x', noCache: true } },
      ]);
      expect(stored).toBe(2);
      const hit = await ai.getOrCall(ask('Capital of France?'), async () => ({ output: 'never' }));
      expect(hit).toMatchObject({ status: 'exact', response: { output: 'Paris' } });
    });
  });

  describe('streams', () => {
    const pieces = ['The ', 'answer ', 'is ', '42.'];

    it('records a stream while it streams and replays it, piece by piece, on a hit', async () => {
      const { ai } = await make();
      const model = fakeStream(pieces);
      const first = await ai.stream(ask('meaning of life'), model.source);
      expect(first.status).toBe('miss');
      expect(await readAll(first.stream)).toEqual(pieces);
      await expect(first.response).resolves.toMatchObject({ output: 'The answer is 42.', usage: { completionTokens: 4 } });
      await waitFor(async () => (await ai.getOrCall(ask('meaning of life'), async () => ({ output: 'never' }))).status === 'exact');
      const again = await ai.stream(ask('meaning of life'), model.source);
      expect(again.status).toBe('exact');
      expect(await readAll(again.stream)).toEqual(pieces);
      expect(model.state.opened).toBe(1);
      expect(again.saved).toMatchObject({ completionTokens: 4 });
    });

    it('replays a stale stream within grace and reads the model stream to its end to refresh it', async () => {
      const { ai, clock } = await make({ adaptiveTtl: false, ttl: { qa: '1h' } }, { caches: { ai: { ttl: '1h', grace: '10m' } } }, true);
      const request = ask('stream me', { operation: 'qa' });
      const first = fakeStream(pieces);
      expect(await readAll((await ai.stream(request, first.source)).stream)).toEqual(pieces);
      await waitFor(async () => (await ai.lookup(request))?.status === 'exact');
      clock.advance(3_600_000 + 1000);
      const newer = fakeStream(['Now ', 'it ', 'is ', '43.']);
      const stale = await ai.stream(request, newer.source);
      expect(stale.status).toBe('stale');
      expect(await readAll(stale.stream)).toEqual(pieces);
      // Nobody reads the refresh: it reads the model's stream itself, and the new answer is served next.
      await waitFor(async () => (await ai.getOrCall(request, async () => ({ output: 'never' }))).response.output === 'Now it is 43.');
      expect(newer.state.opened).toBe(1);
      expect(newer.state.closedEarly).toBe(false);
    });

    it('does not cache a stream that fails midway, and the reader sees the error', async () => {
      const { ai } = await make();
      const broken = fakeStream(pieces, { failAfter: 2 });
      const first = await ai.stream(ask('q'), broken.source);
      const seen: string[] = [];
      await expect((async () => {
        for await (const chunk of first.stream) seen.push(chunk.text);
      })()).rejects.toThrow('model stream broke');
      expect(seen).toEqual(['The ', 'answer ']);
      await expect(first.response).rejects.toThrow();
      const healthy = fakeStream(pieces);
      const second = await ai.stream(ask('q'), healthy.source);
      expect(second.status).toBe('miss');
      expect(await readAll(second.stream)).toEqual(pieces);
      expect(ai.stats().skipped.streamFailed).toBe(1);
    });

    it('lets concurrent callers share one model stream, even when they join midway', async () => {
      const { ai } = await make();
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const model = fakeStream(pieces, { gate });
      const first = await ai.stream(ask('shared'), model.source);
      const firstRead = readAll(first.stream);
      await waitFor(() => model.state.yielded === 1);
      const second = await ai.stream(ask('shared'), model.source);
      const third = ai.getOrCall(ask('shared'), async () => ({ output: 'never' }));
      const secondRead = readAll(second.stream);
      open();
      expect(await firstRead).toEqual(pieces);
      expect(await secondRead).toEqual(pieces);
      expect((await third).response.output).toBe('The answer is 42.');
      expect(model.state.opened).toBe(1);
      expect(ai.stats().coalesced).toBe(2);
    });

    it('closes the model stream and caches nothing when every reader leaves early', async () => {
      const { ai } = await make();
      const model = fakeStream(pieces);
      const first = await ai.stream(ask('bye'), model.source);
      for await (const chunk of first.stream) {
        expect(chunk.text).toBe('The ');
        break;
      }
      await waitFor(() => model.state.closedEarly);
      await expect(first.response).rejects.toThrow(/left/);
      expect((await ai.getOrCall(ask('bye'), async () => ({ output: 'fresh' }))).status).toBe('miss');
      expect(ai.stats().skipped.streamAbandoned).toBe(1);
    });
  });
});

describe('AiResponseCache when Redis goes away', () => {
  const factory = new AiFactory();
  afterEach(() => factory.closeAll());

  it('keeps answering from the model, exact and semantic lookups degrading to misses, never failing', async () => {
    const server = await startRedis();
    try {
      const { ai } = await factory.create({ redis: server.url, prefix: 'gone', caches: { ai: { ttl: '1h', tiers: ['redis'] } } });
      const model = new FakeModel();
      await ai.getOrCall({ model: 'm', prompt: 'How do I reset my password?' }, () => model.complete('before'));
      expect((await ai.getOrCall({ model: 'm', prompt: 'How do I reset my password?' }, () => model.complete('x'))).status).toBe('exact');
      await server.kill();
      // Each call returns, from the model (a call that hung would time the test out).
      for (const prompt of ['How do I reset my password?', 'how can I reset my password', 'Something new']) {
        const result = await ai.getOrCall({ model: 'm', prompt }, () => model.complete(prompt));
        expect(result).toMatchObject({ status: 'miss', response: { output: `answer to: ${prompt}` } });
      }
    } finally {
      await server.stop();
    }
  });
});

describe('AiResponseCache (memory only)', () => {
  const factory = new AiFactory();
  afterEach(() => factory.closeAll());

  it('caches, streams and invalidates without Redis', async () => {
    const { ai } = await factory.create({}, { semantic: false });
    const request = { model: 'm', prompt: 'hello' };
    await ai.getOrCall(request, async () => ({ output: 'hi' }));
    expect((await ai.getOrCall(request, async () => ({ output: 'x' }))).status).toBe('exact');
    const model = fakeStream(['a', 'b']);
    await readAll((await ai.stream({ ...request, prompt: 'stream me' }, model.source)).stream);
    expect(await readAll((await ai.stream({ ...request, prompt: 'stream me' }, model.source)).stream)).toEqual(['a', 'b']);
    await ai.invalidateModel('m');
    expect((await ai.getOrCall(request, async () => ({ output: 'x' }))).status).toBe('miss');
  });

  it('says how to fix a missing named cache', async () => {
    await expect(factory.create({ caches: {} }, { cache: 'llm' })).rejects.toThrow(/declare it in CacheModule.forRoot\(\{ caches: \{ 'llm'/);
  });
});
