import * as http from 'node:http';

/** One request of a load run: when it started (ms since the run began), how long it took, and how it ended. */
export interface Sample {
  start: number;
  latency: number;
  ok: boolean;
  path: string;
  error?: string;
}

export interface LoadOptions {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Requests per second, paced every 10 ms (open loop: a slow answer does not slow the load down). */
  rate: number;
  /** The path of the i-th request. */
  path: (i: number) => string;
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
    const path = options.path(issued++);
    const start = performance.now();
    inFlight += 1;
    const done = (ok: boolean, error?: string) => {
      samples.push({ start: start - started, latency: performance.now() - start, ok, path, error });
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    };
    const req = http.get(options.baseUrl + path, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode === 200, res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
    });
    req.on('error', (error) => done(false, error.message));
    req.on('timeout', () => req.destroy(new Error('client timeout')));
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
