/**
 * Real PostgreSQL servers for integration and e2e tests.
 *
 * Each server gets its own cluster (`initdb` into a temporary directory), listens on 127.0.0.1 only on
 * a port that was free when it started, keeps its Unix socket in its own directory, and runs without
 * fsync (test data, not durable data). PostgreSQL refuses to run as root: when the tests run as root the
 * cluster directory is given to the `postgres` user and the server is started as that user
 * (`setpriv --reuid`). On Linux the server also gets `--pdeathsig KILL`, and a server a suite forgot is
 * SIGKILLed (with its backends) when the Jest worker exits.
 *
 * Unlike the Redis harness, data survives `kill()` and `restart()`: the server comes back through crash
 * recovery, as a real database would. `close()` removes everything.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { LOOPBACK, getFreePort, realProcess } from './redis-server';

export interface StartPostgresOptions {
  /** Extra `postgresql.conf` settings (`listen_addresses`, `port`, `unix_socket_directories` are set by the harness). */
  config?: Readonly<Record<string, string | number | boolean>>;
  /** The database created for the tests (default `strata`). */
  database?: string;
  /** How long to wait for the server to accept connections (default 30 000 ms). */
  startTimeoutMs?: number;
  /** How long `stop()` waits after a fast shutdown before SIGKILL (default 10 000 ms). */
  stopTimeoutMs?: number;
}

export interface PostgresProcess {
  readonly host: string;
  /** The TCP port; the same across `stop()`/`start()`/`restart()`. */
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust authentication on loopback). */
  readonly url: string;
  /** The postmaster's pid (changes on `start()`/`restart()`). */
  readonly pid: number;
  /** The cluster directory (removed by `close()`). */
  readonly dataDir: string;
  /** A fast shutdown (SIGINT: clients are disconnected), waiting for the exit; data is kept. Idempotent. */
  stop(): Promise<void>;
  /** Start a stopped or killed server again on the same port and wait until it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL the postmaster and every backend (a crash); data is kept, `start()` recovers it. */
  kill(): Promise<void>;
  /** SIGSTOP the postmaster and every backend: connections stay open and nothing answers until `resume()`. */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
  /** Kill the server if it runs, then start it again (crash recovery; data kept). */
  restart(): Promise<void>;
  /** Stop the server, close tracked clients, remove the cluster directory. Idempotent. */
  close(): Promise<void>;
  isRunning(): boolean;
  isPaused(): boolean;
  /** A connected `pg` client to the test database, ended by `stop()`/`close()`. */
  connect(config?: ClientConfig): Promise<Client>;
  /** Runs one statement on a short-lived connection. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The last lines the server logged, for error messages. */
  logTail(lines?: number): string;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const LOG_LINES_KEPT = 200;
const REGISTRY_KEY = Symbol.for('strata.test-harness.postgres');

interface Registry {
  /** Postmaster pids of running servers. */
  postmasters: Set<number>;
  dirs: Set<string>;
}

// Jest gives each test file a sandboxed `process`; the exit hook goes on the worker's real one.
function registry(): Registry {
  const host = realProcess();
  const existing: unknown = Reflect.get(host, REGISTRY_KEY);
  if (existing !== undefined) return existing as Registry;
  const created: Registry = { postmasters: new Set(), dirs: new Set() };
  Reflect.set(host, REGISTRY_KEY, created);
  host.on('exit', () => {
    for (const pid of created.postmasters) signalFamily(pid, 'SIGKILL');
    for (const dir of created.dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  return created;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Signals the postmaster and its children (backends, checkpointer, WAL writer…). Each child calls
 * setsid(), so a process-group signal would reach the postmaster alone; the children are found in /proc.
 */
function signalFamily(postmaster: number, signal: NodeJS.Signals): void {
  for (const pid of [postmaster, ...childrenOf(postmaster)]) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function childrenOf(parent: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const name of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** The directory of the PostgreSQL server binaries: on PATH, or Debian's `/usr/lib/postgresql/<version>/bin` (newest first). */
export function findPostgresBin(): string {
  const candidates = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...listVersions('/usr/lib/postgresql').map((v) => path.join('/usr/lib/postgresql', v, 'bin')),
  ];
  for (const dir of candidates) {
    if (['initdb', 'postgres'].every((name) => isExecutable(path.join(dir, name)))) return dir;
  }
  throw new Error(
    '`initdb` and `postgres` were not found on PATH nor in /usr/lib/postgresql/*/bin. The PostgreSQL tests start real ' +
      'servers: install them with `apt-get install postgresql` on Debian/Ubuntu or `brew install postgresql` on macOS.',
  );
}

function listVersions(root: string): string[] {
  try {
    return fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Running as root: PostgreSQL must run as another user; the Debian package creates `postgres`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('the tests run as root and PostgreSQL refuses root: create a `postgres` user (the Debian package `postgresql` does) or run the tests as another user');
  }
}

/** The command line that runs `binary` as the server user, dying with the worker on Linux. */
function commandLine(binary: string, args: string[], user: { uid: number; gid: number } | undefined): [string, string[]] {
  if (process.platform !== 'linux') return [binary, args];
  const ids = user === undefined ? [] : [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'];
  return ['setpriv', [...ids, '--pdeathsig', 'KILL', '--', binary, ...args]];
}

function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  hasExited: boolean;
}

class PostgresServerProcess implements PostgresProcess {
  readonly host = LOOPBACK;
  readonly user = 'postgres';
  readonly database: string;
  readonly dataDir: string;
  private readonly root: string;
  private readonly socketDir: string;
  private run: Run | undefined;
  private paused = false;
  private closing: Promise<void> | undefined;
  private readonly clients = new Set<Client>();
  private readonly log: string[] = [];

  constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly options: StartPostgresOptions,
    private readonly owner: { uid: number; gid: number } | undefined,
  ) {
    this.database = options.database ?? 'strata';
    this.root = fs.mkdtempSync(path.join(tempBase(owner !== undefined), 'strata-pg-'));
    registry().dirs.add(this.root);
    this.dataDir = path.join(this.root, 'data');
    this.socketDir = path.join(this.root, 'socket');
    fs.mkdirSync(this.socketDir);
    if (owner !== undefined) {
      fs.chownSync(this.root, owner.uid, owner.gid);
      fs.chownSync(this.socketDir, owner.uid, owner.gid);
    }
  }

  get url(): string {
    return `postgres://${this.user}@${this.host}:${this.port}/${this.database}`;
  }

  get pid(): number {
    if (this.run === undefined) throw new Error('postgres was never started');
    return this.run.pid;
  }

  isRunning(): boolean {
    return this.run !== undefined && !this.run.hasExited;
  }

  isPaused(): boolean {
    return this.isRunning() && this.paused;
  }

  logTail(lines = 30): string {
    return this.log.slice(-lines).join('\n');
  }

  /** initdb, then the first start, then the test database. */
  async init(): Promise<void> {
    const [command, args] = commandLine(
      path.join(this.bin, 'initdb'),
      ['-D', this.dataDir, '-U', this.user, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      this.owner,
    );
    // Asynchronous: initdb takes a second or more, and the worker's other timers keep running meanwhile.
    await new Promise<void>((resolve, reject) =>
      execFile(command, args, { cwd: this.root, encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`initdb failed for ${this.dataDir}: ${stderr || stdout || error.message}`)) : resolve(),
      ),
    );
    const settings: Record<string, string | number | boolean> = {
      fsync: 'off',
      full_page_writes: 'off',
      shared_buffers: '32MB',
      max_connections: 50,
      ...this.options.config,
      listen_addresses: `'${LOOPBACK}'`,
      port: this.port,
      unix_socket_directories: `'${this.socketDir}'`,
    };
    fs.appendFileSync(
      path.join(this.dataDir, 'postgresql.conf'),
      '\n# test/harness/postgres-server.ts\n' + Object.entries(settings).map(([k, v]) => `${k} = ${String(v)}`).join('\n') + '\n',
    );
    await this.start();
    const admin = new Client({ host: this.host, port: this.port, user: this.user, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${this.database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end();
    }
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    const [command, args] = commandLine(path.join(this.bin, 'postgres'), ['-D', this.dataDir], this.owner);
    const child = spawn(command, args, { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let resolveExited: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (resolveExited = resolve));
    const run: Run = { child, pid: child.pid ?? -1, exited, hasExited: false };
    const reg = registry();
    const gone = () => {
      if (run.hasExited) return;
      run.hasExited = true;
      reg.postmasters.delete(run.pid);
      resolveExited();
    };
    child.once('error', (error) => {
      this.append(`[harness] spawn failed: ${error.message}`);
      gone();
    });
    child.once('exit', (code, signal) => {
      this.append(`[harness] postgres pid ${run.pid} exited (code ${String(code)}, signal ${String(signal)})`);
      gone();
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach((line) => this.append(line)));
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
    child.unref();
    if (child.pid !== undefined) reg.postmasters.add(child.pid);
    this.run = run;
    this.paused = false;
    await this.waitReady(run);
  }

  /** Ready when the postmaster.pid file names this run and says `ready` (what `pg_ctl -w` waits for), and a query answers. */
  private async waitReady(run: Run): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let last = 'not started';
    while (Date.now() < deadline) {
      if (run.hasExited) throw new Error(`postgres on port ${this.port} exited during startup.\nLog tail:\n${this.logTail(25)}`);
      const lines = readLines(path.join(this.dataDir, 'postmaster.pid'));
      if (lines !== undefined && Number(lines[0]) === run.pid && lines[7]?.trim() === 'ready') {
        try {
          await this.query('SELECT 1', [], 'postgres');
          return;
        } catch (error) {
          last = (error as Error).message;
        }
      } else {
        last = lines === undefined ? 'no postmaster.pid yet' : `postmaster.pid says ${lines[7]?.trim() ?? '?'}`;
      }
      await delay(25);
    }
    await this.kill();
    throw new Error(`postgres on port ${this.port} was not ready within ${timeoutMs} ms (last: ${last}).\nLog tail:\n${this.logTail(25)}`);
  }

  async connect(config: ClientConfig = {}): Promise<Client> {
    const client = new Client({ host: this.host, port: this.port, user: this.user, database: this.database, ...config });
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    // A client whose server died emits 'error'; the test sees the failed query, not a crash of the worker.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = [], database = this.database): Promise<R[]> {
    const client = new Client({ host: this.host, port: this.port, user: this.user, database, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await endWithin(client, 2_000);
    }
  }

  async kill(): Promise<void> {
    const run = this.run;
    if (run === undefined || run.hasExited) return;
    const children = childrenOf(run.pid);
    signalFamily(run.pid, 'SIGKILL');
    await run.exited;
    // Orphaned backends would hold the shared memory and block the next start.
    const deadline = Date.now() + 5_000;
    while (children.some((pid) => procState(pid) !== undefined && procState(pid) !== 'Z') && Date.now() < deadline) await delay(10);
    this.paused = false;
  }

  private async signal(signal: 'SIGSTOP' | 'SIGCONT', stopped: boolean): Promise<void> {
    const run = this.run;
    if (run === undefined || run.hasExited) throw new Error(`postgres on port ${this.port} is not running`);
    const family = [run.pid, ...childrenOf(run.pid)];
    signalFamily(run.pid, signal);
    this.paused = stopped;
    // Signals are asynchronous: wait until the kernel shows every process in the new state.
    const deadline = Date.now() + 2_000;
    const settled = (pid: number) => {
      const state = procState(pid);
      return state === undefined || state === 'Z' || (state === 'T') === stopped;
    };
    while (!family.every(settled) && Date.now() < deadline) await delay(5);
  }

  pause(): Promise<void> {
    return this.signal('SIGSTOP', true);
  }

  resume(): Promise<void> {
    return this.signal('SIGCONT', false);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    const run = this.run;
    if (run !== undefined && !run.hasExited && this.paused) signalFamily(run.pid, 'SIGCONT');
    await Promise.all([...this.clients].map((client) => endWithin(client, 2_000)));
    this.clients.clear();
    if (run === undefined || run.hasExited) return;
    this.paused = false;
    run.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const over = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)));
    const outcome = await Promise.race([run.exited.then(() => 'exited' as const), over]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.kill();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.stop();
      fs.rmSync(this.root, { recursive: true, force: true });
      registry().dirs.delete(this.root);
    })();
    return this.closing;
  }

  private append(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES_KEPT * 2) this.log.splice(0, this.log.length - LOG_LINES_KEPT);
  }
}

/** Ends a client, giving up after `ms` (a client stuck on a dead server must not hang the cleanup). */
async function endWithin(client: Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.end().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The temp directory; for a server run as another user, one that user can reach (TMPDIR may be private to root). */
function tempBase(otherUser: boolean): string {
  const base = os.tmpdir();
  if (!otherUser) return base;
  for (let dir = base; ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return '/tmp';
    if (dir === path.dirname(dir)) return base;
  }
}

function readLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/**
 * Creates a cluster in a temporary directory, starts `postgres` on a free 127.0.0.1 port, creates the
 * test database and waits until it answers. Throws with install instructions if PostgreSQL is missing.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresProcess> {
  const bin = findPostgresBin();
  const server = new PostgresServerProcess(bin, await getFreePort(), options, runAs());
  try {
    await server.init();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
