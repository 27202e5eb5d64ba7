// Profiles the bench HTTP server on one route: node --cpu-prof in the child, autocannon here.
import { fork } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';

async function main(): Promise<void> {
  const route = process.argv[2] ?? '/strata';
  const dir = process.argv[3] ?? '/tmp/status-bench/prof';
  const child = fork(path.join('/work/wt/status/bench/suites/http-server.ts'), [], {
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
