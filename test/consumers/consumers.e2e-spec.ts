import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useRedis } from '../../libs/cache/test/harness';
import { LIB, REPO, ensureBuiltLibrary } from '../support/built-library';

/**
 * The library as an npm user gets it: `npm pack` of libs/cache, installed from the tarball into a Nest 11
 * CommonJS app and a Nest 12 ESM app (their package.json/tsconfig in ./nest11-cjs and ./nest12-esm, one
 * shared source in ./app), each compiled by strict tsc without skipLibCheck, started, and exercised over
 * HTTP: first with none of the optional peers installed, then with ioredis and a harness Redis.
 * Installs come from npm's own cache when they can (--prefer-offline), so a run after the first is quick.
 */
const execFileAsync = promisify(execFile);
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const OPTIONAL_PEERS = ['ioredis', 'prom-client', '@opentelemetry/api'];
const IOREDIS = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.ioredis;
const SETUP_TIMEOUT_MS = 5 * 60_000;
/** The Node that runs the apps: this one, or CONSUMER_NODE=/path/to/node to check another version of the engines range. */
const APP_NODE = process.env.CONSUMER_NODE ?? process.execPath;
const APP_NODE_VERSION = execFileSync(APP_NODE, ['--version']).toString().trim();
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const CONSUMERS = [
  { name: 'nest11-cjs', nest: '11' },
  { name: 'nest12-esm', nest: '12' },
] as const;

const work = mkdtempSync(join(tmpdir(), 'strata-consumers-'));
let tarball = '';

async function run(command: string, args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync(command, args, { cwd, maxBuffer: 32 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

function consumerDir(name: string): string {
  return join(work, name);
}

async function prepare(name: string): Promise<void> {
  const dir = consumerDir(name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) copyFileSync(join(__dirname, name, file), join(dir, file));
  for (const file of readdirSync(join(__dirname, 'app'))) copyFileSync(join(__dirname, 'app', file), join(dir, 'src', file));
  await run(NPM, ['install', ...NPM_FLAGS, tarball], dir);
}

interface RunningApp {
  base: string;
  stop(): Promise<void>;
}

/** Starts `node dist/main.js` and resolves once it printed its port; rejects with its output if it exits first. */
function start(name: string, env: Record<string, string>): Promise<RunningApp> {
  const child: ChildProcess = spawn(APP_NODE, ['dist/main.js'], {
    cwd: consumerDir(name),
    env: { ...process.env, NODE_ENV: 'production', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) {
        resolve({
          base: `http://127.0.0.1:${match[1]}`,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`the ${name} app exited (${code}) before listening:\n${output}`)));
  });
}

/** Runs the app with options that must fail at startup; resolves with its exit code and output. */
function startFailing(name: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(APP_NODE, ['dist/main.js'], { cwd: consumerDir(name), env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

async function json<T>(response: Response): Promise<T> {
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

/** Every README feature the apps use, over HTTP; the same checks with and without Redis. */
async function exercise(base: string): Promise<void> {
  // @Cacheable on a provider: the second call is served from the cache (the load count does not move).
  const first = await json<{ name: string; loads: number }>(await fetch(`${base}/products/1`));
  expect(await json(await fetch(`${base}/products/1`))).toEqual(first);
  // @CacheEvict: after the rename the next read loads again and sees the new name.
  await json(await fetch(`${base}/products/1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Renamed' }) }));
  const renamed = await json<{ name: string; loads: number }>(await fetch(`${base}/products/1`));
  expect(renamed).toMatchObject({ name: 'Renamed', loads: first.loads + 1 });

  // @InjectCache('products') with getOrSet.
  const price = await json<{ cents: number; loads: number }>(await fetch(`${base}/products/abc/price`));
  expect(await json(await fetch(`${base}/products/abc/price`))).toEqual(price);
  expect(price.cents).toBe(300);

  // A sub-path (@strata/cache/ai) loads in both module systems.
  const similarity = await json<{ same: number; orthogonal: number }>(await fetch(`${base}/products/similarity`));
  expect(similarity.same).toBeCloseTo(1, 9);
  expect(similarity.orthogonal).toBe(0);

  // CacheInterceptor on a route: MISS then HIT with the same body, and the ETag answers 304.
  const miss = await fetch(`${base}/catalog`);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  const body = await json<{ builds: number }>(miss);
  const hit = await fetch(`${base}/catalog`);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(await json(hit)).toEqual(body);
  const etag = hit.headers.get('etag');
  expect(etag).toMatch(/^"/);
  const notModified = await fetch(`${base}/catalog`, { headers: { 'if-none-match': etag ?? '' } });
  expect(notModified.status).toBe(304);
  expect(await notModified.text()).toBe('');
}

beforeAll(async () => {
  await ensureBuiltLibrary();
  const packed = (await execFileAsync(NPM, ['pack', '--pack-destination', work, '--loglevel=error'], { cwd: LIB })).stdout.trim().split('\n').pop() ?? '';
  tarball = join(work, packed);
  expect(existsSync(tarball)).toBe(true);
  await Promise.all(CONSUMERS.map(({ name }) => prepare(name)));
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe.each(CONSUMERS)(`a Nest $nest app ($name) with the packed @strata/cache, on Node ${APP_NODE_VERSION}`, ({ name, nest }) => {
  const redis = useRedis();

  it(`installed Nest ${nest} and compiles with strict tsc, without skipLibCheck`, async () => {
    const installed = JSON.parse(readFileSync(join(consumerDir(name), 'node_modules', '@nestjs', 'core', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version.split('.')[0]).toBe(nest);
    const tsconfig = JSON.parse(readFileSync(join(consumerDir(name), 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, skipLibCheck: false });
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], consumerDir(name));
  }, SETUP_TIMEOUT_MS);

  it('runs memory-only with none of ioredis, prom-client, @opentelemetry/api installed', async () => {
    for (const peer of OPTIONAL_PEERS) expect(existsSync(join(consumerDir(name), 'node_modules', peer))).toBe(false);
    const app = await start(name, {});
    try {
      await exercise(app.base);
    } finally {
      await app.stop();
    }
  });

  it("fails at startup with 'npm i ioredis' when redis is configured but ioredis is not installed", async () => {
    const { code, output } = await startFailing(name, { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).not.toBe(0);
    expect(output).toContain("needs the package 'ioredis', which is not installed; install ioredis: npm i ioredis");
  });

  it('runs with Redis once ioredis is installed, and its entries are in Redis', async () => {
    await run(NPM, ['install', ...NPM_FLAGS, `ioredis@${IOREDIS}`], consumerDir(name));
    const prefix = `consumer-${name}`;
    const app = await start(name, { REDIS_URL: redis.url, CACHE_PREFIX: prefix });
    try {
      await exercise(app.base);
      const keys = await redis.client().keys(`${prefix}*`);
      // Caller segments are escaped (`:` included), so match on the words only.
      expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(/products.*product.*1/), expect.stringMatching(/products.*price.*abc/)]));
    } finally {
      await app.stop();
    }
  }, SETUP_TIMEOUT_MS);
});

// A source map that names a file the package does not ship makes bundlers and debuggers warn (webpack's
// source-map-loader, Vite: "points to missing source files"); the maps carry their sources inline.
it('ships source maps whose sources are inside them', () => {
  const dist = join(consumerDir(CONSUMERS[0].name), 'node_modules', '@strata', 'cache', 'dist');
  const maps = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js.map'));
  expect(maps.length).toBeGreaterThan(0);
  const withoutSources = maps.filter((file) => {
    const map = JSON.parse(readFileSync(join(dist, file), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    return map.sources.some((_source, i) => typeof map.sourcesContent?.[i] !== 'string');
  });
  expect(withoutSources).toEqual([]);
});

// Keeps the consumer apps' manifests honest: they pin the majors the README's matrix states.
it('pins one Nest major per consumer app', () => {
  for (const { name, nest } of CONSUMERS) {
    const manifest = JSON.parse(readFileSync(join(__dirname, name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies['@nestjs/core'].split('.')[0]).toBe(nest);
  }
});
