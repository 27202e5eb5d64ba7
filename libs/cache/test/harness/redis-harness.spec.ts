import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  RedisProcess,
  RedisStartError,
  WaitForTimeoutError,
  rawCommand,
  replyValue,
  startRedis,
  useRedis,
  waitFor,
  waitForValue,
} from './index';

/** True if a process with this pid exists (signal 0 only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      return false;
    }
    throw err;
  }
}

/**
 * True if the process exists and is not a zombie. An orphan is reaped by init, which in some
 * containers takes a second or more; until then `kill(pid, 0)` still succeeds.
 */
function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return processExists(pid);
  }
}

describe('waitFor() / waitForValue()', () => {
  it('resolves once the condition holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, { intervalMs: 1 });
    expect(calls).toBe(3);
    await expect(waitForValue(() => calls * 2, (value) => value === 6)).resolves.toBe(6);
  });

  it('times out with the message and the last value or error', async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, message: 'the moon' })).rejects.toThrow(
      /Timed out after \d+ ms \(limit 50 ms.*\) waiting for the moon: last value was false/,
    );
    const failing = waitFor(
      () => {
        throw new Error('boom');
      },
      { timeoutMs: 50 },
    );
    await expect(failing).rejects.toBeInstanceOf(WaitForTimeoutError);
    await expect(failing).rejects.toThrow(/last attempt threw Error: boom/);
  });

  it('does not wait past the deadline for an attempt that hangs', async () => {
    // The probe never settles: rejecting at all proves waitFor stopped at its deadline, not with the probe.
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 100, message: () => 'a hanging probe' }),
    ).rejects.toThrow(/waiting for a hanging probe: the first attempt did not finish in time/);
  });
});

describe('redis test harness', () => {
  describe('useRedis()', () => {
    const redis = useRedis();

    it('exposes a running server through getters', async () => {
      expect(redis.host).toBe('127.0.0.1');
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(redis.process.isRunning()).toBe(true);
      const client = redis.client();
      await client.set('greeting', 'hello');
      await expect(client.get('greeting')).resolves.toBe('hello');
      await expect(client.config('GET', 'save')).resolves.toEqual(['save', '']);
      await expect(client.config('GET', 'appendonly')).resolves.toEqual(['appendonly', 'no']);
      await expect(client.config('GET', 'bind')).resolves.toEqual(['bind', '127.0.0.1']);
    });

    it('answers raw RESP commands without ioredis', async () => {
      await expect(rawCommand(redis.port, ['PING'])).resolves.toEqual({ type: '+', text: 'PONG' });
      await expect(rawCommand(redis.port, ['SET', 'raw', 'x y'])).resolves.toEqual({ type: '+', text: 'OK' });
      await expect(rawCommand(redis.port, ['GET', 'raw'])).resolves.toEqual({ type: '$', text: 'x y' });
      await expect(rawCommand(redis.port, ['GET', 'missing'])).resolves.toEqual({ type: '$', text: null });
      await expect(rawCommand(redis.port, ['INCR', 'raw'])).resolves.toMatchObject({ type: '-' });
      expect(replyValue(await rawCommand(redis.port, ['CONFIG', 'GET', 'appendonly']))).toEqual(['appendonly', 'no']);
    });
  });

  describe('startRedis()', () => {
    const started: RedisProcess[] = [];
    const start = async (...args: Parameters<typeof startRedis>): Promise<RedisProcess> => {
      const server = await startRedis(...args);
      started.push(server);
      return server;
    };

    afterEach(async () => {
      await Promise.all(started.splice(0).map((server) => server.stop()));
    });

    it('applies config-file directives such as rename-command', async () => {
      const server = await start({
        config: { 'rename-command': [['KEYS', '""'], ['FLUSHALL', 'HARNESS_FLUSHALL']], 'maxmemory-policy': 'allkeys-lru' },
      });
      expect(fs.readFileSync(server.configFile, 'utf8')).toContain('rename-command KEYS ""');
      const client = server.client();
      await client.set('a', '1');
      await expect(client.keys('*')).rejects.toThrow(/unknown command/i);
      await expect(client.call('HARNESS_FLUSHALL')).resolves.toBe('OK');
      await expect(client.dbsize()).resolves.toBe(0);
      await expect(client.config('GET', 'maxmemory-policy')).resolves.toEqual(['maxmemory-policy', 'allkeys-lru']);
    });

    it('pause() makes commands time out and resume() brings the server back', async () => {
      const server = await start();
      const client = server.client({ commandTimeout: 200 });
      await client.set('k', 'v');

      await server.pause();
      expect(server.isPaused()).toBe(true);
      expect(server.isRunning()).toBe(true);
      await expect(client.get('k')).rejects.toThrow(/timed out/i);

      await server.resume();
      expect(server.isPaused()).toBe(false);
      await waitForValue(
        () => client.get('k'),
        (value) => value === 'v',
        { timeoutMs: 30_000, message: 'GET to answer after resume()' },
      );
    });

    it('kill() then restart() comes back empty on the same port', async () => {
      const server = await start();
      const { port } = server;
      const client = server.client({ maxRetriesPerRequest: 1, retryStrategy: () => 20 });
      await client.set('k', 'v');
      const firstPid = server.pid;

      await server.kill();
      expect(server.isRunning()).toBe(false);
      expect(processExists(firstPid)).toBe(false);
      await expect(client.get('k')).rejects.toThrow();

      await server.restart();
      expect(server.isRunning()).toBe(true);
      expect(server.port).toBe(port);
      expect(server.pid).not.toBe(firstPid);
      // the tracked client reconnects by itself
      const size = await waitForValue(
        () => client.dbsize(),
        () => true,
        { timeoutMs: 30_000, message: 'the old client to reconnect after restart()' },
      );
      expect(size).toBe(0);
      await expect(client.get('k')).resolves.toBeNull();
    });

    it('restart() also works after stop(), on the same port', async () => {
      const server = await start();
      const { port } = server;
      await server.stop();
      expect(fs.existsSync(server.dir)).toBe(false);
      await server.restart();
      expect(server.port).toBe(port);
      await expect(server.client().ping()).resolves.toBe('PONG');
    });

    it('gives servers started at the same time different ports', async () => {
      const [a, b] = await Promise.all([start(), start()]);
      expect(a.port).not.toBe(b.port);
      expect(a.dir).not.toBe(b.dir);
      await a.client().set('where', 'a');
      await expect(b.client().get('where')).resolves.toBeNull();
    });

    it('a fixed port that stays taken fails with addressInUse after bindRetryMs', async () => {
      const taken = await start();
      const failure = startRedis({ port: taken.port, bindRetryMs: 300 });
      await expect(failure).rejects.toMatchObject({ name: 'RedisStartError', addressInUse: true });
      await expect(failure).rejects.toThrow(/Address already in use/);
    });

    it('stop() leaves no process and no temp dir, and is idempotent', async () => {
      const server = await start();
      const client = server.client();
      await client.ping();
      const { pid, dir } = server;
      expect(processExists(pid)).toBe(true);

      await Promise.all([server.stop(), server.stop()]);
      expect(server.isRunning()).toBe(false);
      expect(client.status).toBe('end');
      expect(fs.existsSync(dir)).toBe(false);
      let error: NodeJS.ErrnoException | undefined;
      try {
        process.kill(pid, 0);
      } catch (err: unknown) {
        error = err as NodeJS.ErrnoException;
      }
      expect(error?.code).toBe('ESRCH');
      await server.stop();
    });

    it('stop() of a paused server still ends it', async () => {
      const server = await start();
      await server.pause();
      const { pid } = server;
      await server.stop();
      expect(processExists(pid)).toBe(false);
    });

    it('fails with the server log when the server cannot start', async () => {
      const failure = startRedis({ config: { 'no-such-directive': 'yes' } });
      await expect(failure).rejects.toBeInstanceOf(RedisStartError);
      await expect(failure).rejects.toThrow(/exited during startup[\s\S]*no-such-directive yes[\s\S]*Bad directive/);
    });

    it('fails with install instructions when redis-server is not on PATH', async () => {
      const savedPath = process.env.PATH;
      process.env.PATH = path.join(__dirname, 'no-such-dir');
      try {
        await expect(startRedis()).rejects.toThrow(/redis-server.*not found on PATH[\s\S]*apt-get install redis-server[\s\S]*brew install redis/);
      } finally {
        process.env.PATH = savedPath;
      }
    });

    it('a server left running is killed when its Node process exits, even by SIGKILL', async () => {
      const script = [
        "const { startRedis } = require('./redis-server');",
        'startRedis().then((s) => {',
        "  console.log(JSON.stringify({ pid: s.pid, dir: s.dir }));",
        "  if (process.argv[1] === 'exit') process.exit(0);",
        '  setInterval(() => undefined, 1000);',
        '});',
      ].join('\n');
      const runOrphan = async (mode: 'exit' | 'sigkill'): Promise<{ pid: number; dir: string }> => {
        const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script, mode], {
          cwd: __dirname,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
        });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        await waitFor(() => out.endsWith('\n'), { timeoutMs: 30_000, message: `the ${mode} script to start redis` });
        const started = JSON.parse(out) as { pid: number; dir: string };
        expect(processExists(started.pid)).toBe(true);
        if (mode === 'sigkill') {
          child.kill('SIGKILL');
        }
        await exited;
        return started;
      };

      const exited = await runOrphan('exit');
      await waitFor(() => !processAlive(exited.pid), { timeoutMs: 30_000, message: 'redis to die with its parent (exit)' });
      expect(fs.existsSync(exited.dir)).toBe(false);

      if (process.platform === 'linux') {
        const killed = await runOrphan('sigkill');
        try {
          await waitFor(() => !processAlive(killed.pid), {
            timeoutMs: 30_000,
            message: 'redis to die with its parent (SIGKILL, via setpriv --pdeathsig)',
          });
        } finally {
          // nobody was left to clean up after a SIGKILL
          fs.rmSync(killed.dir, { recursive: true, force: true });
        }
      }
    }, 180_000);
  });
});
