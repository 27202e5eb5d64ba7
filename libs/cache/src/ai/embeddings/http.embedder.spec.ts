import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpEmbeddingProvider } from './http.embedder';
import { LocalEmbeddingProvider } from './local.embedder';

/** Against a tiny OpenAI-compatible server on loopback (it embeds with the local embedder). */
describe('HttpEmbeddingProvider', () => {
  let server: Server;
  let baseUrl: string;
  const seen: Array<{ auth: string | undefined; body: { model: string; input: string[]; dimensions?: number } }> = [];
  let mode: 'ok' | 'fail' | 'short' | 'shuffled' = 'ok';
  const local = new LocalEmbeddingProvider({ dimensions: 64 });

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', async () => {
        const body = JSON.parse(raw);
        seen.push({ auth: req.headers.authorization, body });
        if (req.url !== '/v1/embeddings' || mode === 'fail') {
          res.writeHead(mode === 'fail' ? 503 : 404, { 'content-type': 'application/json' }).end('{"error":"overloaded"}');
          return;
        }
        const vectors = await local.embed(body.input);
        let data = vectors.map((v, index) => ({ object: 'embedding', index, embedding: [...v] }));
        if (mode === 'short') data = data.slice(1);
        if (mode === 'shuffled') data = data.reverse();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    mode = 'ok';
  });

  it('posts the texts in batches with the key and model, and returns the vectors in input order', async () => {
    const http = new HttpEmbeddingProvider({ baseUrl: `${baseUrl}/`, apiKey: 'sk-test', model: 'text-embedding-3-small', dimensions: 64, batchSize: 2 });
    const texts = ['alpha', 'beta', 'gamma'];
    const vectors = await http.embed(texts);
    expect(seen.map((s) => s.body.input)).toEqual([['alpha', 'beta'], ['gamma']]);
    expect(seen[0]).toMatchObject({ auth: 'Bearer sk-test', body: { model: 'text-embedding-3-small', dimensions: 64 } });
    const expected = await local.embed(texts);
    vectors.forEach((v, i) => expect([...v].map((x) => x.toFixed(5))).toEqual([...expected[i]].map((x) => x.toFixed(5))));
    mode = 'shuffled';
    const again = await http.embed(texts.slice(0, 2));
    expect([...again[0]].map((x) => x.toFixed(5))).toEqual([...expected[0]].map((x) => x.toFixed(5)));
  });

  it('fails with the status and body of a failed request, and on a reply of the wrong length', async () => {
    const http = new HttpEmbeddingProvider({ baseUrl, model: 'm' });
    mode = 'fail';
    await expect(http.embed(['x'])).rejects.toThrow(/HTTP 503.*overloaded/);
    mode = 'short';
    await expect(http.embed(['x', 'y'])).rejects.toThrow(/1 vectors for 2 texts/);
  });

  it('names the endpoint and model in its id, so vectors of different models are never compared', () => {
    const a = new HttpEmbeddingProvider({ baseUrl, model: 'a' });
    const b = new HttpEmbeddingProvider({ baseUrl, model: 'b' });
    expect(a.id).not.toBe(b.id);
    expect(() => new HttpEmbeddingProvider({ model: '' })).toThrow(/needs a model/);
  });
});
