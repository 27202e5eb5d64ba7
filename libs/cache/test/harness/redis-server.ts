/**
 * Real `redis-server` processes for integration and e2e tests.
 *
 * Every server listens on 127.0.0.1 only, on a port that was free when it started, with no
 * persistence and its own temporary directory holding the generated config file. The server logs
 * to a pipe; the last lines are kept in memory for error messages.
 *
 * Leftover processes: a server that a suite forgot to stop is SIGKILLed when the Jest worker exits
 * (an `exit` hook on the worker's real `process`, see {@link realProcess}); on Linux the server is
 * also started through `setpriv --pdeathsig KILL`, so it dies even if the worker itself is killed.
 * The child process and its pipes are unref'd, so a forgotten server never keeps a worker alive.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, Redis, RedisOptions } from 'ioredis';

/** A value of one config directive: one line, its arguments as an array, or several lines of the same directive. */
export type RedisConfigValue = string | readonly string[] | readonly (readonly string[])[];

/**
 * Extra config file directives, e.g. `{ 'maxmemory-policy': 'allkeys-lru', 'rename-command': ['KEYS', '""'] }`.
 * Arguments are written to the config file verbatim (so `'""'` is the empty string, as in redis.conf);
 * an empty string argument is written as `""`. Use an array of arrays for a directive that appears
 * several times: `{ 'rename-command': [['KEYS', '""'], ['FLUSHALL', '""']] }`.
 */
export type RedisConfig = Readonly<Record<string, RedisConfigValue>>;

export interface StartRedisOptions {
  /** Extra directives for the generated config file (`port`, `bind` and `dir` are set by the harness). */
  config?: RedisConfig;
  /** Extra command-line arguments, appended after the config file: `['--maxmemory', '10mb']`. */
  args?: readonly string[];
  /** Listen on this port instead of a free one (bind failures are retried for `bindRetryMs`). */
  port?: number;
  /** Run as a Sentinel (`redis-server <conf> --sentinel`). */
  sentinel?: boolean;
  /** How long to wait for the first PONG (default 10 000 ms). */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL (default 5 000 ms). */
  stopTimeoutMs?: number;
  /** How long a start or `restart()` on a fixed port keeps retrying while the port is taken (default 3 000 ms). */
  bindRetryMs?: number;
  /** A label for error messages, e.g. `cluster-node-2`. */
  name?: string;
}

export interface RedisProcess {
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The TCP port; the same across `restart()`. */
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The pid of the current (or last) server process; changes on `restart()`. */
  readonly pid: number;
  /** The server's temporary directory (removed by `stop()`). */
  readonly dir: string;
  /** The generated config file inside {@link dir}. */
  readonly configFile: string;
  /** True if started with `sentinel: true`. */
  readonly sentinel: boolean;
  /** SIGTERM (SIGKILL after `stopTimeoutMs`), wait for exit, close tracked clients, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. Tracked clients stay open (they reconnect after `restart()`). */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing until `resume()`. */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): Promise<void>;
  /** Kill the server if it still runs, start it again on the same port with no data, wait until it answers PING. */
  restart(): Promise<void>;
  /** True between start and exit (a paused server is running). */
  isRunning(): boolean;
  /** True between `pause()` and `resume()`. */
  isPaused(): boolean;
  /** A new ioredis client to this server; it is disconnected by `stop()`. */
  client(opts?: RedisOptions): Redis;
  /** Make `stop()` disconnect a client created elsewhere (e.g. a `Cluster`); returns it. */
  track<T extends Redis | Cluster>(client: T): T;
  /** The last lines the server logged (all runs of this process object), for error messages. */
  logTail(lines?: number): string;
}

/** `startRedis` could not get a server to answer PING. */
export class RedisStartError extends Error {
  override readonly name = 'RedisStartError';
  constructor(
    message: string,
    /** The server exited because its port (or cluster bus port) was taken. */
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

export const LOOPBACK = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const DEFAULT_BIND_RETRY_MS = 3_000;
const FREE_PORT_ATTEMPTS = 5;
const LOG_LINES_KEPT = 200;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const INSTALL_HINT =
  'install it with `apt-get install redis-server` on Debian/Ubuntu or `brew install redis` on macOS, ' +
  'or put the binary on PATH';

/** The absolute path of an executable on PATH; throws with install instructions if there is none. */
export function findExecutable(name: string): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) {
        return candidate;
      }
    } catch {
      // not here
    }
  }
  throw new Error(
    `\`${name}\` was not found on PATH (${dirs.join(path.delimiter) || 'PATH is empty'}). ` +
      `The Redis integration tests start real Redis servers: ${INSTALL_HINT}.`,
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago (listen on port 0, read it, close). */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/** One RESP2 reply as read by {@link rawCommand}. */
export type RawReply =
  /** `+` simple string, `-` error, `:` integer */
  | { readonly type: '+' | '-' | ':'; readonly text: string }
  /** bulk string; null for a null bulk string */
  | { readonly type: '$'; readonly text: string | null }
  /** array; null for a null array */
  | { readonly type: '*'; readonly items: readonly RawReply[] | null };

/** Parses one RESP2 reply at `offset`; returns it with the offset after it, or undefined if incomplete. */
function parseReply(data: Buffer, offset = 0): [RawReply, number] | undefined {
  const lineEnd = data.indexOf('\r\n', offset);
  if (lineEnd < 0) {
    return undefined;
  }
  const type = String.fromCharCode(data[offset] ?? 0);
  const line = data.subarray(offset + 1, lineEnd).toString('utf8');
  const next = lineEnd + 2;
  switch (type) {
    case '+':
    case '-':
    case ':':
      return [{ type, text: line }, next];
    case '$': {
      const length = Number.parseInt(line, 10);
      if (length < 0) {
        return [{ type, text: null }, next];
      }
      if (data.length < next + length + 2) {
        return undefined;
      }
      return [{ type, text: data.subarray(next, next + length).toString('utf8') }, next + length + 2];
    }
    case '*': {
      const count = Number.parseInt(line, 10);
      if (count < 0) {
        return [{ type, items: null }, next];
      }
      const items: RawReply[] = [];
      let position = next;
      for (let i = 0; i < count; i += 1) {
        const parsed = parseReply(data, position);
        if (parsed === undefined) {
          return undefined;
        }
        items.push(parsed[0]);
        position = parsed[1];
      }
      return [{ type, items }, position];
    }
    default:
      throw new Error(`unsupported RESP reply type ${JSON.stringify(type)}`);
  }
}

/** The text of a simple, error, integer or bulk reply; throws on an error reply or an array. */
export function replyText(reply: RawReply): string | null {
  if (reply.type === '*') {
    throw new Error('expected a string reply, got an array');
  }
  if (reply.type === '-') {
    throw new Error(`Redis error reply: ${reply.text}`);
  }
  return reply.text;
}

/** An array reply as a list of strings or nested lists (errors throw, nulls become null). */
export type ReplyValue = string | null | readonly ReplyValue[];

/** Converts any reply to plain values; throws on an error reply. */
export function replyValue(reply: RawReply): ReplyValue {
  return reply.type === '*' ? (reply.items ?? []).map(replyValue) : replyText(reply);
}

/**
 * Sends one command over a fresh connection and resolves with its reply (an error reply resolves
 * too, with type `-`). Rejects on connection errors and after `timeoutMs`. Independent of ioredis,
 * for probes that must not be queued behind other commands.
 */
export function rawCommand(
  port: number,
  args: readonly string[],
  timeoutMs = 500,
  host: string = LOOPBACK,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let settled = false;
    const what = args[0] ?? 'command';
    const socket = net.connect({ host, port });
    const finish = (err: Error | undefined, reply?: RawReply): void => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined || reply === undefined) {
        reject(err ?? new Error(`no reply to ${what}`));
      } else {
        resolve(reply);
      }
    };
    const timer = setTimeout(() => finish(new Error(`no reply to ${what} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      const encoded = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
      socket.write(`*${args.length}\r\n${encoded}`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        const parsed = parseReply(buffered);
        if (parsed !== undefined) {
          finish(undefined, parsed[0]);
        }
      } catch (err: unknown) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`connection closed before a reply to ${what}`)));
  });
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function isLineList(value: RedisConfigValue): value is readonly (readonly string[])[] {
  return typeof value !== 'string' && value.length > 0 && value.every((item) => Array.isArray(item));
}

function configLines(key: string, value: RedisConfigValue): string[] {
  const token = (arg: string): string => {
    if (/[\r\n]/.test(arg)) {
      throw new Error(`config ${key}: a value must not contain a line break`);
    }
    return arg === '' ? '""' : arg;
  };
  if (typeof value === 'string') {
    return [`${key} ${token(value)}`];
  }
  if (isLineList(value)) {
    return value.map((args) => [key, ...args.map(token)].join(' '));
  }
  const args = value as readonly string[];
  return [[key, ...args.map(token)].join(' ')];
}

// ---------------------------------------------------------------------------------------------
// Leftover protection
// ---------------------------------------------------------------------------------------------

interface ChildRegistry {
  /** pid -> temp dir of every server this worker started that has not exited yet. */
  readonly children: Map<number, string>;
  /** Temp dirs not removed yet (servers killed but not stopped). */
  readonly dirs: Set<string>;
}

const REGISTRY_KEY = Symbol.for('strata-cache.test-harness.redis-children');

/**
 * The worker's real `process`. Inside a Jest test file `process` is a copy made by
 * jest-environment-node whose `on('exit')` listeners never fire, so the harness reaches the
 * real one through the outer realm's `Function` (core modules such as `events` come from it).
 */
export function realProcess(): NodeJS.Process {
  try {
    const OuterFunction = EventEmitter.constructor as FunctionConstructor;
    const candidate: unknown = OuterFunction('return process')();
    if (
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof (candidate as NodeJS.Process).on === 'function' &&
      (candidate as NodeJS.Process).pid === process.pid
    ) {
      return candidate as NodeJS.Process;
    }
  } catch {
    // fall back to the process we can see
  }
  return process;
}

/** One registry and one exit hook per worker process, however many test files load this module. */
function registry(): ChildRegistry {
  const host = realProcess();
  const existing: unknown = Reflect.get(host, REGISTRY_KEY);
  if (existing !== undefined) {
    return existing as ChildRegistry;
  }
  const created: ChildRegistry = { children: new Map(), dirs: new Set() };
  Reflect.set(host, REGISTRY_KEY, created);
  host.on('exit', () => {
    for (const pid of created.children.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of created.dirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  return created;
}

let pdeathsigWrapper: string | null | undefined;

/** On Linux, `setpriv --pdeathsig KILL` makes the kernel kill the server when the worker dies. */
function commandLine(binary: string, argv: string[]): [string, string[]] {
  if (pdeathsigWrapper === undefined) {
    pdeathsigWrapper = null;
    if (process.platform === 'linux') {
      try {
        pdeathsigWrapper = findExecutable('setpriv');
      } catch {
        // no setpriv: rely on the exit hook
      }
    }
  }
  return pdeathsigWrapper === null ? [binary, argv] : [pdeathsigWrapper, ['--pdeathsig', 'KILL', '--', binary, ...argv]];
}

/** Linux only: the process state letter from /proc (`T` = stopped), or undefined if unknown. */
function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Disconnects an ioredis client (standalone or cluster) and waits for its `end` event (at most `timeoutMs`). */
export async function closeClient(client: Redis | Cluster, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'end') {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.once('end', () => resolve());
    timer = setTimeout(resolve, timeoutMs);
  });
  client.disconnect();
  await ended;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// The process
// ---------------------------------------------------------------------------------------------

interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  /** Resolves when the process exited and its stdout/stderr are closed. */
  readonly closed: Promise<void>;
  hasExited: boolean;
  /** Log lines of this run only (to tell why it failed). */
  readonly log: string[];
}

class RedisServerProcess implements RedisProcess {
  readonly host = LOOPBACK;
  readonly sentinel: boolean;
  readonly dir: string;
  readonly configFile: string;
  private currentPort: number;
  private run: Run | undefined;
  private paused = false;
  private stopping: Promise<void> | undefined;
  private readonly clients = new Set<Redis | Cluster>();
  private readonly log: string[] = [];
  private readonly name: string;

  constructor(
    private readonly binary: string,
    port: number,
    private readonly options: StartRedisOptions,
  ) {
    this.sentinel = options.sentinel === true;
    this.currentPort = port;
    this.name = options.name ?? (this.sentinel ? 'redis-sentinel' : 'redis-server');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-redis-'));
    this.configFile = path.join(this.dir, this.sentinel ? 'sentinel.conf' : 'redis.conf');
    registry().dirs.add(this.dir);
  }

  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    return `redis://${this.host}:${this.currentPort}`;
  }

  get pid(): number {
    if (this.run === undefined) {
      throw new Error(`${this.name} was never started`);
    }
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

  client(opts: RedisOptions = {}): Redis {
    // A short disconnectTimeout: ioredis's 2 s timer (not unref'd) would hold a test worker at exit.
    return this.track(new Redis({ host: this.host, port: this.currentPort, disconnectTimeout: 200, ...opts }));
  }

  track<T extends Redis | Cluster>(client: T): T {
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  /** Start (or start again) on `port`; moves to another free port only when `allowNewPort`. */
  async start(allowNewPort: boolean): Promise<void> {
    const bindRetryMs = this.options.bindRetryMs ?? DEFAULT_BIND_RETRY_MS;
    const bindDeadline = Date.now() + bindRetryMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.launch();
        return;
      } catch (err: unknown) {
        if (!(err instanceof RedisStartError) || !err.addressInUse) {
          throw err;
        }
        if (allowNewPort && attempt < FREE_PORT_ATTEMPTS) {
          this.currentPort = await getFreePort();
          this.writeConfig(true);
        } else if (allowNewPort || Date.now() >= bindDeadline) {
          throw err;
        } else {
          await delay(100);
        }
      }
    }
  }

  private writeConfig(overwrite: boolean): void {
    fs.mkdirSync(this.dir, { recursive: true });
    registry().dirs.add(this.dir);
    if (!overwrite && fs.existsSync(this.configFile)) {
      // keep it: Sentinel rewrites its config file with its identity and what it learnt
      return;
    }
    const user = this.options.config ?? {};
    for (const reserved of ['port', 'bind', 'dir', 'daemonize']) {
      if (reserved in user) {
        throw new Error(`config ${reserved} is set by the harness (use the port option for a fixed port)`);
      }
    }
    const base: Record<string, string> = this.sentinel
      ? { logfile: '""' }
      : // no persistence; replicas sync at once instead of after the default 5 s diskless-sync delay
        { logfile: '""', save: '""', appendonly: 'no', 'repl-diskless-sync-delay': '0' };
    const lines = [
      '# Generated by test/harness/redis-server.ts',
      `bind ${LOOPBACK}`,
      `port ${this.currentPort}`,
      `dir ${quote(this.dir)}`,
      'daemonize no',
      ...Object.entries(base)
        .filter(([key]) => !(key in user))
        .map(([key, value]) => `${key} ${value}`),
      ...Object.entries(user).flatMap(([key, value]) => configLines(key, value)),
    ];
    fs.writeFileSync(this.configFile, `${lines.join('\n')}\n`);
  }

  private appendLog(run: Run, chunk: string, partial: { text: string }): void {
    const text = partial.text + chunk;
    const lines = text.split('\n');
    partial.text = lines.pop() ?? '';
    for (const line of lines) {
      run.log.push(line);
      this.log.push(line);
    }
    if (this.log.length > LOG_LINES_KEPT * 2) {
      this.log.splice(0, this.log.length - LOG_LINES_KEPT);
    }
    if (run.log.length > LOG_LINES_KEPT * 2) {
      run.log.splice(0, run.log.length - LOG_LINES_KEPT);
    }
  }

  private async launch(): Promise<void> {
    this.writeConfig(false);
    const argv = [this.configFile, ...(this.sentinel ? ['--sentinel'] : []), ...(this.options.args ?? [])];
    const [command, commandArgs] = commandLine(this.binary, argv);
    const child = spawn(command, commandArgs, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let spawnError: Error | undefined;
    let resolveExited: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => {
      resolveExited = resolve;
    });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const run: Run = { child, pid: child.pid ?? -1, exited, closed, hasExited: false, log: [] };
    const reg = registry();
    const onGone = (): void => {
      if (!run.hasExited) {
        run.hasExited = true;
        reg.children.delete(run.pid);
        resolveExited();
      }
    };
    child.once('error', (err) => {
      spawnError = err;
      onGone();
    });
    child.once('exit', (code, signal) => {
      this.appendLog(run, `[harness] ${this.name} pid ${run.pid} exited (code ${String(code)}, signal ${String(signal)})\n`, {
        text: '',
      });
      onGone();
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) {
        const partial = { text: '' };
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => this.appendLog(run, chunk, partial));
        if (stream instanceof net.Socket) {
          stream.unref();
        }
      }
    }
    child.unref();
    if (child.pid !== undefined) {
      reg.children.set(child.pid, this.dir);
    }
    this.run = run;
    this.paused = false;

    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let lastReply = 'no attempt yet';
    for (;;) {
      if (run.hasExited) {
        // 'exit' can come before the last output: give the pipes a moment to drain
        await Promise.race([run.closed, delay(500)]);
        const tail = run.log.slice(-25).join('\n');
        const inUse = /address already in use/i.test(tail);
        const why = spawnError ? `could not be spawned (${spawnError.message})` : 'exited during startup';
        throw new RedisStartError(
          `${this.name} (${this.binary}, port ${this.currentPort}, config ${this.configFile}) ${why}.\n` +
            `Log tail:\n${tail || '(empty)'}`,
          inUse,
        );
      }
      try {
        lastReply = await this.probe(run.pid);
        if (lastReply === 'ready') {
          return;
        }
      } catch (err: unknown) {
        lastReply = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() >= deadline) {
        break;
      }
      await delay(20);
    }
    const tail = run.log.slice(-25).join('\n');
    await this.killRun(run);
    throw new RedisStartError(
      `${this.name} (pid ${run.pid}, port ${this.currentPort}) did not answer PING within ${timeoutMs} ms ` +
        `(last: ${lastReply}).\nLog tail:\n${tail || '(empty)'}`,
      false,
    );
  }

  /**
   * 'ready' once the server on our port is this run's process and answers PING. Checking the pid
   * matters: while a new server fails to bind a taken port, the old owner of the port answers.
   */
  private async probe(pid: number): Promise<string> {
    const info = await rawCommand(this.currentPort, ['INFO', 'server'], 500);
    const match = info.type === '$' ? /^process_id:(\d+)/m.exec(info.text ?? '') : null;
    if (match === null) {
      return `INFO server answered ${JSON.stringify(info)}`;
    }
    if (Number(match[1]) !== pid) {
      return `port ${this.currentPort} is answered by another process (pid ${match[1]})`;
    }
    const ping = await rawCommand(this.currentPort, ['PING'], 500);
    return ping.type === '+' && ping.text === 'PONG' ? 'ready' : `PING answered ${JSON.stringify(ping)}`;
  }

  private async killRun(run: Run): Promise<void> {
    if (!run.hasExited) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    this.paused = false;
  }

  async kill(): Promise<void> {
    if (this.run !== undefined) {
      await this.killRun(this.run);
    }
  }

  private async signalAndCheck(signal: 'SIGSTOP' | 'SIGCONT', stopped: boolean): Promise<void> {
    const run = this.run;
    if (run === undefined || run.hasExited) {
      throw new Error(`${this.name} on port ${this.currentPort} is not running`);
    }
    run.child.kill(signal);
    this.paused = stopped;
    // Signals are asynchronous: on Linux, wait until the kernel shows the new state.
    const deadline = Date.now() + 2_000;
    for (;;) {
      const state = procState(run.pid);
      if (state === undefined || (state === 'T') === stopped || Date.now() > deadline) {
        return;
      }
      await delay(5);
    }
  }

  pause(): Promise<void> {
    return this.signalAndCheck('SIGSTOP', true);
  }

  resume(): Promise<void> {
    return this.signalAndCheck('SIGCONT', false);
  }

  async restart(): Promise<void> {
    if (this.stopping !== undefined) {
      await this.stopping;
      this.stopping = undefined;
    }
    await this.kill();
    // No persistence is configured, but a replica keeps the RDB it received: drop data files so the
    // server comes back empty. Other files (cluster nodes.conf, Sentinel's rewritten config) stay.
    for (const file of ['dump.rdb', 'appendonlydir', 'appendonly.aof']) {
      fs.rmSync(path.join(this.dir, file), { recursive: true, force: true });
    }
    await this.start(false);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await Promise.all([...this.clients].map((client) => closeClient(client)));
    this.clients.clear();
    const run = this.run;
    if (run !== undefined && !run.hasExited) {
      run.child.kill('SIGTERM');
      if (this.paused) {
        run.child.kill('SIGCONT');
      }
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
      });
      const outcome = await Promise.race([run.exited.then(() => 'exited' as const), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        await this.killRun(run);
      }
    }
    this.paused = false;
    fs.rmSync(this.dir, { recursive: true, force: true });
    registry().dirs.delete(this.dir);
  }
}

/**
 * Starts a `redis-server` on a free 127.0.0.1 port and waits until it answers PING.
 * Throws with install instructions if `redis-server` is not on PATH, and with the server's log
 * tail if it does not come up.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const binary = findExecutable('redis-server');
  const fixedPort = options.port;
  const server = new RedisServerProcess(binary, fixedPort ?? (await getFreePort()), options);
  try {
    await server.start(fixedPort === undefined);
  } catch (err: unknown) {
    await server.stop();
    throw err;
  }
  return server;
}
