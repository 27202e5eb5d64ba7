import { useRedis, waitFor } from './harness';
import type { AiRequest } from '../src/ai';
import { AiFactory, FakeModel } from './ai-factory';

/** The semantic cache through AiResponseCache, on a real Redis: hits, guards, scopes, sharing between instances. */
describe('SemanticCache (Redis)', () => {
  const redis = useRedis();
  const factory = new AiFactory();
  let prefix = 0;
  const make = (ai: Parameters<AiFactory['create']>[1] = {}, cache: Parameters<AiFactory['create']>[0] = {}, at = ++prefix) =>
    factory.create({ redis: redis.url, prefix: `s${at}`, ...cache }, ai);
  afterEach(() => factory.closeAll());

  const ask = (prompt: string, extra: Partial<AiRequest> = {}): AiRequest => ({ model: 'gpt-4o-mini', operation: 'qa', prompt, ...extra });

  it('answers a rephrased prompt from the cache and reports the similarity', async () => {
    const { ai } = await make();
    const model = new FakeModel();
    await ai.getOrCall(ask('How do I reset my password?'), () => model.complete('reset'));
    const hit = await ai.getOrCall(ask('how can I reset my password'), () => model.complete('again'));
    expect(hit.status).toBe('semantic');
    expect(hit.response.output).toBe('answer to: reset');
    expect(hit.matchedPrompt).toBe('How do I reset my password?');
    expect(hit.similarity).toBeGreaterThanOrEqual(0.85);
    expect(hit.similarity).toBeLessThan(1);
    expect(model.calls).toBe(1);
    const stats = ai.stats();
    expect(stats.hits.semantic).toBe(1);
    expect(Object.values(stats.semantic.similarity).reduce((a, b) => a + b, 0)).toBe(1);
  });

  // With the default guards the blocking key already keeps these apart; with typo tolerance on (no blocking
  // key) the sign-code scan finds them as candidates and the named guard must refuse.
  describe.each([
    ['the blocking key', {}],
    ['the sign-code scan', { maxAddedWords: 1 }],
  ] as const)('through %s', (path, guards) => {
    it.each([
      ['reset my password', 'reset my username', 'substitutions'],
      ['What is 2+2?', 'What is 2+3?', 'numbers'],
      ['What is 6*7?', 'What is 6+7?', 'operators'],
      ['Is it safe to eat raw eggs?', 'Is it not safe to eat raw eggs?', 'negation'],
      ['Translate "good night" into Japanese', 'Translate "good morning" into Japanese', 'quotes'],
      ['What does the function getUser do?', 'What does the function getUsers do?', 'entities'],
      ['Convert Celsius to Fahrenheit', 'Convert Fahrenheit to Celsius', 'relations'],
      ['What is your name?', 'What is my name?', 'person'],
    ])('does not answer %j with the answer to %j (%s)', async (cached, asked, guard) => {
      const { ai } = await make({ semantic: { threshold: 0.3, guards } }); // a low threshold: the guards alone must refuse
      const model = new FakeModel();
      await ai.getOrCall(ask(cached), () => model.complete(cached));
      const result = await ai.getOrCall(ask(asked), () => model.complete(asked));
      expect(result.status).toBe('miss');
      expect(result.response.output).toBe(`answer to: ${asked}`);
      if (path === 'the sign-code scan') expect(ai.stats().semantic.rejected).toEqual({ [guard]: 1 });
    });
  });

  it('never crosses tenants, models, temperatures, operations or system prompts', async () => {
    const { ai } = await make();
    const model = new FakeModel();
    await ai.forTenant('acme').getOrCall(ask('How do I reset my password?', { temperature: 0 }), () => model.complete('acme'));
    const paraphrase = 'how can I reset my password';
    const others: Array<[string, () => Promise<{ status: string }>]> = [
      ['other tenant', () => ai.forTenant('globex').getOrCall(ask(paraphrase, { temperature: 0 }), () => model.complete('x'))],
      ['no tenant', () => ai.getOrCall(ask(paraphrase, { temperature: 0 }), () => model.complete('x'))],
      ['other model', () => ai.forTenant('acme').getOrCall(ask(paraphrase, { temperature: 0, model: 'gpt-4o' }), () => model.complete('x'))],
      ['other temperature', () => ai.forTenant('acme').getOrCall(ask(paraphrase, { temperature: 0.7 }), () => model.complete('x'))],
      ['other operation', () => ai.forTenant('acme').getOrCall(ask(paraphrase, { temperature: 0, operation: 'summarize' }), () => model.complete('x'))],
      ['other system prompt', () => ai.forTenant('acme').getOrCall(ask(paraphrase, { temperature: 0, system: 'Answer in French.' }), () => model.complete('x'))],
    ];
    for (const [name, run] of others) expect([name, (await run()).status]).toEqual([name, 'miss']);
    // The control: same scope, same paraphrase.
    expect((await ai.forTenant('acme').getOrCall(ask(paraphrase, { temperature: 0 }), () => model.complete('x'))).status).toBe('semantic');
  });

  it('compares the last user message of a chat and requires the earlier messages to be equal', async () => {
    const { ai } = await make();
    const model = new FakeModel();
    const chat = (context: string, question: string): AiRequest => ({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a support bot.' },
        { role: 'user', content: context },
        { role: 'assistant', content: 'Sure.' },
        { role: 'user', content: question },
      ],
    });
    await ai.getOrCall(chat('I use the mobile app.', 'How do I reset my password?'), () => model.complete('mobile'));
    expect((await ai.getOrCall(chat('I use the mobile app.', 'how can I reset my password'), () => model.complete('x'))).status).toBe('semantic');
    expect((await ai.getOrCall(chat('I use the web app.', 'how can I reset my password'), () => model.complete('x'))).status).toBe('miss');
  });

  it('shares vectors between instances through Redis, loading lazily and following new ones', async () => {
    const at = ++prefix;
    const one = await make({}, {}, at);
    const two = await make({ semantic: { syncInterval: 0 } }, {}, at);
    const model = new FakeModel();
    await one.ai.getOrCall(ask('How do I export my data?'), () => model.complete('export'));
    const hit = await two.ai.getOrCall(ask('how can I export my data'), () => model.complete('x'));
    expect(hit).toMatchObject({ status: 'semantic', response: { output: 'answer to: export' } });
    // Instance two has loaded the scope; a vector written by instance one afterwards is found too.
    await one.ai.getOrCall(ask('How do I delete my account?'), () => model.complete('delete'));
    expect((await two.ai.getOrCall(ask('how can I delete my account'), () => model.complete('x'))).status).toBe('semantic');
    expect(two.ai.stats().semantic.indexed).toBe(2);
    expect(model.calls).toBe(2);
  });

  it('reads other instances’ vectors at most every syncInterval, and its own at once', async () => {
    const at = ++prefix;
    const options = { redis: redis.url, prefix: `s${at}` };
    const one = await factory.create(options, {}, { fakeClock: true });
    const two = await factory.create(options, { semantic: { syncInterval: '1s' } }, { fakeClock: true });
    const model = new FakeModel();
    await two.ai.getOrCall(ask('How do I print a page?'), () => model.complete('print')); // two has read the scope now
    expect((await two.ai.getOrCall(ask('how can I print a page'), () => model.complete('x'))).status).toBe('semantic'); // its own: at once
    await one.ai.getOrCall(ask('How do I scan a page?'), () => model.complete('scan'));
    expect((await two.ai.getOrCall(ask('how can I scan a page'), () => model.complete('x'))).status).toBe('miss'); // not read yet
    await one.ai.getOrCall(ask('How do I fax a page?'), () => model.complete('fax'));
    two.clock.advance(1000);
    expect((await two.ai.getOrCall(ask('how can I fax a page'), () => model.complete('x'))).status).toBe('semantic');
  });

  it('finds nothing once the answer behind a vector is invalidated', async () => {
    const { ai } = await make();
    const model = new FakeModel();
    await ai.forTenant('t').getOrCall(ask('How do I cancel my order?'), () => model.complete('cancel'));
    await ai.invalidateTenant('t');
    expect((await ai.forTenant('t').getOrCall(ask('how can I cancel my order'), () => model.complete('fresh'))).status).toBe('miss');
    // …and the fresh answer is found semantically again.
    expect((await ai.forTenant('t').getOrCall(ask('How can I cancel my order?'), () => model.complete('x'))).response.output).toBe('answer to: fresh');
  });

  it('can be turned off per call and per named cache', async () => {
    const { ai } = await make({ caches: { strict: { semantic: false } } }, { caches: { ai: { ttl: '1h' }, strict: { ttl: '1h' } } });
    const model = new FakeModel();
    await ai.getOrCall(ask('How do I reset my password?'), () => model.complete('p'));
    expect((await ai.getOrCall(ask('how can I reset my password'), () => model.complete('x'), { semantic: false })).status).toBe('miss');
    const strict = ai.cache('strict');
    await strict.getOrCall(ask('How do I reset my password?'), () => model.complete('p'));
    expect((await strict.getOrCall(ask('how could I reset my password'), () => model.complete('x'))).status).toBe('miss');
    expect(ai.stats().semantic.lookups).toBe(1); // the first request, on the default cache, looked (and found nothing)
  });

  it('does not serve an answer semantically once it is stale', async () => {
    const { ai, clock } = await factory.create(
      { redis: redis.url, prefix: `s${++prefix}`, caches: { ai: { ttl: '1h', grace: '1h' } } },
      { adaptiveTtl: false, ttl: { qa: '10m' } },
      { fakeClock: true },
    );
    const model = new FakeModel();
    await ai.getOrCall(ask('How do I reset my password?'), () => model.complete('p'));
    clock.advance(10 * 60_000 + 1);
    expect((await ai.getOrCall(ask('how can I reset my password'), () => model.complete('x'))).status).toBe('miss');
  });

  it('searches by sign codes when the guards are relaxed (no blocking key), and still finds the match', async () => {
    const { ai } = await make({ semantic: { guards: { maxAddedWords: 1 } } });
    const model = new FakeModel();
    await ai.getOrCall(ask('Explain recursion'), () => model.complete('recursion'));
    const hit = await ai.getOrCall(ask('Explain tail recursion'), () => model.complete('tail'), { threshold: 0.6 });
    expect(hit).toMatchObject({ status: 'semantic', response: { output: 'answer to: recursion' } });
    // The number guard still holds on that path.
    await ai.getOrCall(ask('What is 2+2?'), () => model.complete('4'));
    expect((await ai.getOrCall(ask('What is 2+3?'), () => model.complete('5'), { threshold: 0.3 })).status).toBe('miss');
  });

  it('warms up semantic vectors with one embedding batch', async () => {
    const { ai, semantic } = await make();
    const embed = jest.spyOn(semantic.embedder, 'embed');
    await ai.warmUp([
      { input: ask('What are your opening hours?'), output: '9 to 5' },
      { input: ask('Where is your office?'), output: 'Berlin' },
    ]);
    expect(embed).toHaveBeenCalledTimes(1);
    await waitFor(async () => (await ai.getOrCall(ask('what are your opening hours'), async () => ({ output: 'x' }))).status === 'semantic');
  });
});

describe('SemanticCache (memory only)', () => {
  const factory = new AiFactory();
  afterEach(() => factory.closeAll());

  it('finds paraphrases and applies the guards without Redis', async () => {
    const { ai } = await factory.create({}, {});
    const model = new FakeModel();
    await ai.getOrCall({ model: 'm', prompt: 'What is 2+2?' }, () => model.complete('4'));
    expect((await ai.getOrCall({ model: 'm', prompt: 'what is 2+2' }, () => model.complete('x'))).status).toBe('semantic');
    expect((await ai.getOrCall({ model: 'm', prompt: 'What is 2+3?' }, () => model.complete('x'))).status).toBe('miss');
  });
});
