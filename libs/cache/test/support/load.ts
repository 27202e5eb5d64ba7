import * as http from 'node:http';
import { waitFor } from '../harness';
import { mulberry32 } from '../fixtures/llm-text.fixture';

/** One request of a load run: when it started (ms since the run began), how long it took, and how it ended. */
export interface Sample {
  start: number;
  latency: number;
  ok: boolean;
  path: string;
  method: string;
  error?: string;
  /** The response body (when `keepBodies`). */
  body?: string;
  /** What `request` returned as `note` for this request (e.g. the model's version when it started). */
  note?: unknown;
}

/** One request: a GET path, or a method, a path and a note kept with the sample. */
export type LoadRequest = string | { method?: string; path: string; note?: unknown };

export interface LoadOptions {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Requests per second, paced every 10 ms (open loop: a slow answer does not slow the load down). */
  rate: number;
  /** The i-th request. */
  path: (i: number) => LoadRequest;
  /** Keep every response body in its sample. Default false. */
  keepBodies?: boolean;
}

/**
 * A steady open-loop HTTP load on keep-alive connections. `stop()` stops issuing requests and resolves
 * with every sample once the requests in flight have ended.
 */
export function startLoad(options: LoadOptions): { stop(): Promise<Sample[]>; readonly started: number; samples: Sample[] } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const samples: Sample[] = [];
  const started = performance.now();
  let inFlight = 0;
  let issued = 0;
  let drained: (() => void) | undefined;
  const perTick = options.rate / 100;
  let owed = 0;
  const issue = () => {
    const request = options.path(issued++);
    const { method = 'GET', path, note } = typeof request === 'string' ? { path: request } : request;
    const start = performance.now();
    inFlight += 1;
    const done = (ok: boolean, error?: string, body?: string) => {
      samples.push({ start: start - started, latency: performance.now() - start, ok, path, method, error, body, note });
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    };
    const send = (retried: boolean): void => {
      const req = http.request(options.baseUrl + path, { method, agent, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => options.keepBodies && chunks.push(chunk));
        res.on('end', () => {
          const ok = res.statusCode === 200;
          done(ok, ok ? undefined : `HTTP ${res.statusCode}`, options.keepBodies ? Buffer.concat(chunks).toString('utf8') : undefined);
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A keep-alive socket the server closed as idle just as it was reused: the request never reached
        // the app. Node's documentation says to retry it (once); anything else is a failure.
        if (!retried && req.reusedSocket && error.code === 'ECONNRESET') return send(true);
        done(false, error.message);
      });
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.end();
    };
    send(false);
  };
  const timer = setInterval(() => {
    owed += perTick;
    while (owed >= 1) {
      owed -= 1;
      issue();
    }
  }, 10);
  return {
    started,
    samples,
    async stop() {
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      agent.destroy();
      return samples;
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** p50/p99/max latency of the samples that started in [from, to) ms of the run. */
export function window(samples: readonly Sample[], from: number, to: number) {
  const picked = samples.filter((s) => s.start >= from && s.start < to);
  const latencies = picked.map((s) => s.latency);
  return {
    count: picked.length,
    failed: picked.filter((s) => !s.ok).length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.length ? Math.max(...latencies) : Number.NaN,
  };
}

export const fmt = (w: ReturnType<typeof window>) =>
  `${w.count} requests, ${w.failed} failed, p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms, max ${w.max.toFixed(1)} ms`;

/** A deterministic uniform generator in [0, 1), so every run makes the same sequence. */
export function uniform(seed = 1): () => number {
  return mulberry32(seed);
}

/** `/items/<prefix><n>` with n uniform in [0, count). */
export function keys(count: number, prefix: string, seed = 1): (i: number) => string {
  const next = uniform(seed);
  return () => `/items/${prefix}${Math.floor(next() * count)}`;
}

/**
 * Waits until `count` more requests have completed: the load is the clock of a scenario ("5 s of
 * load at 300 requests/s" is 1500 requests), not a bare sleep.
 */
export async function forRequests(samples: () => readonly unknown[] | number, count: number, rate = 300): Promise<void> {
  const size = () => {
    const s = samples();
    return typeof s === 'number' ? s : s.length;
  };
  const target = size() + count;
  await waitFor(() => size() >= target, { timeoutMs: (count / rate) * 1000 * 4 + 30_000, intervalMs: 20 });
}
