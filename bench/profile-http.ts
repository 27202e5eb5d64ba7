/**
 * CPU profile of the http suite's server (bench/suites/http-server.ts) under autocannon on one route:
 * `node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/profile-http.ts /strata /tmp/prof`
 * then `node bench/profile-top.js /tmp/prof/*.cpuprofile`. 1 s warm-up, 5 s measured, 50 connections.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';

async function main(): Promise<void> {
  const route = process.argv[2] ?? '/strata';
  const dir = process.argv[3] ?? 'bench-profiles';
  const child = fork(path.join(__dirname, 'suites', 'http-server.ts'), [], {
    execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  const url = `http://127.0.0.1:${port}${route}`;
  await autocannon({ url, connections: 50, duration: 1 });
  const r = await autocannon({ url, connections: 50, duration: 5 });
  process.stdout.write(`${route}: ${Math.round(r.requests.total / r.duration)} req/s\n`);
  child.disconnect();
  await new Promise((resolve) => child.once('exit', resolve));
}
void main();
