/**
 * `npm run loadtest` — the docgen plan's load test: drives the sample app with a realistic mix and
 * prints the hit rate per cache, latency percentiles, the tokens and money the AI cache saved, and the
 * time the document cache saved, against the plan's thresholds (AI hit rate > 80%, templates > 90%,
 * p95 of cached responses < 100 ms).
 *
 *   npm run loadtest                          # starts the app (memory only) in a child process
 *   npm run loadtest -- --redis               # …with a private redis-server as L2
 *   npm run loadtest -- --url http://127.0.0.1:3000   # targets a running app (loopback only)
 *   options: --duration 30 (s)  --connections 32  --latency 400 (simulated LLM ms, started app only)
 *            --warmup 15 (s of the same traffic first, not counted: the figures are the steady state)
 *            --max-requests 20000 (per phase: a phase stops at its duration or at this count)
 *
 * The mix: prompts (60%, a tenth of them streamed), documents (15%: real PDFs read by PDF.js, a PNG read
 * by Tesseract when installed, and text), templates (15%: the template, scores and renderings), user
 * profiles (10%), over three tenants. Which prompt, document, context or user is drawn from a Zipf
 * distribution (s = 1.1): a few are asked all the time, most rarely, as in production. Prompts come in
 * three phrasings: as first asked, retyped with other case and spacing, and rephrased ("how can I" for
 * "how do I", a "please"), so exact and semantic hits both happen.
 */
import autocannon from 'autocannon';
import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { mulberry32 } from '../../../libs/cache/test/fixtures/llm-text.fixture';
import { startRedis } from '../../../libs/cache/test/harness';

interface Options {
  url?: string;
  duration: number;
  connections: number;
  latency: number;
  warmup: number;
  maxRequests: number;
  redis: boolean;
}

function parseArgs(argv: string[]): Options {
  const value = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    url: value('url'),
    duration: Number(value('duration') ?? 30),
    connections: Number(value('connections') ?? 32),
    latency: Number(value('latency') ?? 400),
    warmup: Number(value('warmup') ?? 15),
    maxRequests: Number(value('max-requests') ?? 20_000),
    redis: argv.includes('--redis'),
  };
}


/** Draws 0..n-1 with P(k) ∝ 1/(k+1)^s. */
function zipf(n: number, s: number, next: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cumulative[k] = total += 1 / Math.pow(k + 1, s);
  return () => {
    const x = next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const VERBS = ['reset', 'change', 'export', 'delete', 'share', 'rename', 'archive', 'restore', 'download', 'upgrade'];
const NOUNS = ['password', 'invoice', 'report', 'account', 'subscription', 'profile', 'calendar', 'workspace', 'project', 'team', 'avatar', 'license', 'backup', 'dashboard', 'webhook', 'api key', 'billing address', 'email address', 'payment method', 'data'];
const PLACES = ['', ' in the mobile app', ' on Windows', ' in the admin panel'];

function intent(i: number): string {
  return `How do I ${VERBS[i % VERBS.length]} my ${NOUNS[Math.floor(i / VERBS.length) % NOUNS.length]}${PLACES[Math.floor(i / (VERBS.length * NOUNS.length)) % PLACES.length]}?`;
}

function phrasing(text: string, variant: number): string {
  if (variant === 0) return text;
  if (variant === 1) return ` ${text.toLowerCase()}  `;
  return `please, ${text.replace('How do I', 'how can I').replace(/\?$/, '')}`;
}

/** A one-page PDF with real text objects (what the sample's PDF.js route reads), `i` varying its content. */
function pdf(i: number): string {
  const lines = [`Supply agreement ${i} between Acme and Globex`, `The supplier must deliver ${i % 9 + 1} invoices monthly.`, `Payment is due within ${10 + (i % 50)} days of receipt.`, `It includes a feature for order ${i} tracking.`];
  const content = `BT /F1 14 Tf 56 780 Td 18 TL\n${lines.map((l) => `(${l}) Tj T*`).join('\n')}\nET\n`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${content.length} >>\nstream\n${content}endstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((object, n) => {
    const at = out.length;
    out += `${n + 1} 0 obj\n${object}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1').toString('base64');
}

function document(i: number): string {
  const lines = 40 + ((i * 37) % 400);
  const out = [`# Specification ${i}`, ''];
  for (let l = 0; l < lines; l++) {
    out.push(l % 7 === 0 ? `The system must handle case ${i}.${l} within ${l % 50} ms.` : `It includes a feature for workflow ${i}-${l} and provides reports.`);
  }
  return out.join('\n');
}

type Kind = 'prompt' | 'stream' | 'document' | 'template' | 'user';
/** The caches the plan sets targets for, and which request kinds each one serves. */
const CACHES: Record<string, Kind[]> = { ai: ['prompt', 'stream'], templates: ['template'], documents: ['document'], users: ['user'] };

interface AiStats {
  saved: { tokens: number; cost: number; latencyMs: number };
  calls: number;
  hits: { exact: number; semantic: number; stale: number };
}

interface RequestContext {
  kind: Kind;
  started: number;
}

interface Sample {
  kind: Kind;
  cached: boolean;
  ms: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForApp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the sample app exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/templates`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the sample app did not start within 60 s');
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.url !== undefined && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(options.url).hostname)) {
    throw new Error(`--url must be a loopback address (127.0.0.1, localhost, [::1]): this load test never drives another host; got ${options.url}`);
  }
  const receipt = readFileSync(path.resolve(__dirname, '../samples/receipt.png')).toString('base64');
  let child: ChildProcess | undefined;
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let url = options.url;
  try {
    if (url === undefined) {
      if (options.redis) redis = await startRedis();
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const root = path.resolve(__dirname, '../../..');
      child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/sample/src/main.ts'],
        {
          cwd: root,
          env: { ...process.env, PORT: String(port), SAMPLE_LATENCY_MS: String(options.latency), REDIS_URL: redis?.url ?? process.env.REDIS_URL ?? '', OPENAI_API_KEY: '' },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      await waitForApp(url, child);
    }
    const target = url;

    const next = mulberry32(42); // seeded, so two runs draw the same sequence
    const prompts = zipf(400, 1.1, next);
    const documents = zipf(60, 1.1, next);
    const contexts = zipf(100, 1.1, next);
    const users = zipf(200, 1.1, next);
    const tenants = ['acme', 'acme', 'acme', 'globex', 'globex', 'initech'];
    const templates = ['invoice-basic', 'nda', 'rfc', 'support-reply', 'release-notes', 'receipt'];
    const samples: Sample[] = [];

    const pick = (): { kind: Kind; method: 'GET' | 'POST'; path: string; body?: string } => {
      const r = next();
      if (r < 0.6) {
        const variant = next() < 0.7 ? 0 : next() < 0.5 ? 1 : 2;
        const model = next() < 0.9 ? 'sim-gpt-small' : 'sim-gpt-large';
        const stream = next() < 0.1;
        return {
          kind: stream ? 'stream' : 'prompt',
          method: 'POST',
          path: stream ? '/ai/complete/stream' : '/ai/complete',
          body: JSON.stringify({ prompt: phrasing(intent(prompts()), variant), model, operation: 'qa' }),
        };
      }
      if (r < 0.75) {
        const d = next();
        const body = d < 0.6 ? { contentBase64: pdf(documents()) } : d < 0.7 ? { contentBase64: receipt } : { content: document(documents()) };
        return { kind: 'document', method: 'POST', path: '/documents', body: JSON.stringify(body) };
      }
      if (r < 0.9) {
        const id = templates[Math.floor(next() * templates.length)];
        const context = contexts();
        const t = next();
        if (t < 0.2) return { kind: 'template', method: 'GET', path: `/templates/${id}` };
        return t < 0.6
          ? { kind: 'template', method: 'POST', path: `/templates/${id}/score`, body: JSON.stringify({ context: { segment: context, region: context % 5 } }) }
          : { kind: 'template', method: 'POST', path: `/templates/${id}/render`, body: JSON.stringify({ data: { customer: `c${context}`, total: `$${context}` } }) };
      }
      return { kind: 'user', method: 'GET', path: `/users/u${users()}` };
    };

    // Bounded in time (duration) and in count: the phase stops at whichever comes first.
    const drive = (duration: number, into: Sample[]) =>
      new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon({
          url: target,
          connections: options.connections,
          duration,
          requests: [
            {
              setupRequest: (req: autocannon.Request, context: object) => {
                const chosen = pick();
                const ctx = context as RequestContext;
                ctx.kind = chosen.kind;
                ctx.started = performance.now();
                return {
                  ...req,
                  method: chosen.method,
                  path: chosen.path,
                  body: chosen.body,
                  headers: { 'content-type': 'application/json', 'x-tenant-id': tenants[Math.floor(next() * tenants.length)] },
                };
              },
              onResponse: (status: number, _body: string, context: object, headers: IncomingHttpHeaders | undefined) => {
                const ctx = context as RequestContext;
                const name = Object.keys(headers ?? {}).find((h) => h.toLowerCase() === 'x-cache');
                const xCache = name === undefined ? undefined : String(headers![name]);
                into.push({ kind: ctx.kind, cached: status < 400 && xCache !== undefined && xCache !== 'MISS', ms: performance.now() - ctx.started });
                if (into.length === options.maxRequests) instance.stop();
              },
            },
          ],
        }, (error, result) => (error ? reject(error) : resolve(result)));
      });
    const warmupSamples: Sample[] = [];
    if (options.warmup > 0) await drive(options.warmup, warmupSamples);
    const before = (await (await fetch(`${target}/ai/stats`)).json()) as AiStats;
    const started = Date.now();
    const result = await drive(options.duration, samples);
    const seconds = (Date.now() - started) / 1000;
    const after = (await (await fetch(`${target}/ai/stats`)).json()) as AiStats;

    const fmt = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(1));
    const row = (name: string, list: Sample[]) => {
      const sorted = list.map((s) => s.ms).sort((a, b) => a - b);
      const hits = list.filter((s) => s.cached).length;
      return `| ${name} | ${list.length} | ${list.length ? ((100 * hits) / list.length).toFixed(1) : '—'}% | ${fmt(percentile(sorted, 0.5))} | ${fmt(percentile(sorted, 0.95))} | ${fmt(percentile(sorted, 0.99))} |`;
    };
    const cachedSamples = samples.filter((s) => s.cached);
    const hitRate = samples.length ? cachedSamples.length / samples.length : 0;
    const cachedP95 = percentile(cachedSamples.map((s) => s.ms).sort((a, b) => a - b), 0.95);
    const allP95 = percentile(samples.map((s) => s.ms).sort((a, b) => a - b), 0.95);
    const rateOf = (kinds: Kind[]) => {
      const list = samples.filter((s) => kinds.includes(s.kind));
      return list.length ? list.filter((s) => s.cached).length / list.length : NaN;
    };
    const aiRate = rateOf(CACHES.ai);
    const templateRate = rateOf(CACHES.templates);
    const docs = (await (await fetch(`${target}/dashboard/data`)).json()) as { tiers: string[]; documents: Record<'pdf' | 'ocr', { runs: number; hits: number; workMs: number; savedMs: number; savedCost: number }> };
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const lines = [
      `Strata sample load test: ${options.connections} connections, ${seconds.toFixed(0)} s measured after ${options.warmup} s of warm-up (${warmupSamples.length} requests, ${warmupSamples.length ? ((100 * warmupSamples.filter((w) => w.cached).length) / warmupSamples.length).toFixed(1) : '—'}% from cache), ${url}${options.url ? '' : ` (started here; cache: ${redis || process.env.REDIS_URL ? 'memory + Redis' : 'memory only'}; simulated LLM ~${options.latency} ms)`}`,
      `${result.requests.total} requests, ${result.requests.average.toFixed(0)} req/s, ${result.errors} errors, ${result.non2xx} non-2xx; autocannon latency p50 ${result.latency.p50} ms, p97.5 ${result.latency.p97_5} ms, p99 ${result.latency.p99} ms`,
      '',
      '| requests | count | served from cache | p50 ms | p95 ms | p99 ms |',
      '|---|---|---|---|---|---|',
      row('all', samples),
      row('cached (HIT, SEMANTIC, STALE)', cachedSamples),
      row('misses', samples.filter((s) => !s.cached)),
      ...(['prompt', 'stream', 'document', 'template', 'user'] as Kind[]).map((k) => row(`  ${k}`, samples.filter((s) => s.kind === k))),
      '',
      `Hit rate per cache: ${Object.entries(CACHES).map(([name, kinds]) => `${name} ${fmt(100 * rateOf(kinds))}%`).join(', ')} (tiers in use: ${docs.tiers.join(' + ')})`,
      `Document work since start: PDF.js ${docs.documents.pdf.runs} runs (${fmt(docs.documents.pdf.workMs / Math.max(1, docs.documents.pdf.runs))} ms each), ${docs.documents.pdf.hits} hits saved ${(docs.documents.pdf.savedMs / 1000).toFixed(1)} s; Tesseract ${docs.documents.ocr.runs} runs (${fmt(docs.documents.ocr.workMs / Math.max(1, docs.documents.ocr.runs))} ms each), ${docs.documents.ocr.hits} hits saved ${(docs.documents.ocr.savedMs / 1000).toFixed(1)} s and $${docs.documents.ocr.savedCost.toFixed(4)}`,
      `AI cache (measured run): ${after.hits.exact - before.hits.exact} exact, ${after.hits.semantic - before.hits.semantic} semantic, ${after.hits.stale - before.hits.stale} stale hits; ${after.calls - before.calls} model calls`,
      `Saved (measured run): ${(after.saved.tokens - before.saved.tokens).toLocaleString('en')} tokens, $${(after.saved.cost - before.saved.cost).toFixed(4)}, ${((after.saved.latencyMs - before.saved.latencyMs) / 1000).toFixed(0)} s of model time; since start: ${after.saved.tokens.toLocaleString('en')} tokens, $${after.saved.cost.toFixed(4)}`,
      `Plan thresholds: AI hit rate ${fmt(100 * aiRate)}% (> 80%: ${met(aiRate > 0.8)}), templates ${fmt(100 * templateRate)}% (> 90%: ${met(templateRate > 0.9)}), p95 of cached responses ${fmt(cachedP95)} ms (< 100 ms: ${met(cachedP95 < 100)}); p95 of all responses ${fmt(allP95)} ms; overall hit rate ${(100 * hitRate).toFixed(1)}%`,
    ];
    console.log(lines.join('\n'));
  } finally {
    child?.kill('SIGTERM');
    await redis?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
