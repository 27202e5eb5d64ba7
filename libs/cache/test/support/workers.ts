import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

/** One child process running a worker script (TypeScript, through ts-node), talking over IPC. */
export class Worker {
  readonly messages: Array<Record<string, unknown> & { type: string }> = [];
  /** The worker's 'ready' message. */
  ready: Record<string, unknown> = {};
  private readonly listeners = new Set<(message: { type: string }) => void>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: Record<string, unknown> & { type: string }) => {
      this.messages.push(message);
      for (const listener of this.listeners) listener(message);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(message: object): void {
    this.child.send(message);
  }

  /** Calls `listener` for every message from now on (synchronously, as it arrives). */
  on(listener: (message: { type: string } & Record<string, unknown>) => void): void {
    this.listeners.add(listener as (message: { type: string }) => void);
  }

  /** The first message of this type not taken yet (waiting for it); rejects if the process exits first. */
  next<T extends { type: string }>(type: string, timeoutMs = 60_000): Promise<T> {
    const take = (): T | undefined => {
      const index = this.messages.findIndex((m) => m.type === type);
      return index < 0 ? undefined : (this.messages.splice(index, 1)[0] as unknown as T);
    };
    const ready = take();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(onMessage);
        this.child.off('exit', onExit);
      };
      const onMessage = () => {
        const found = take();
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`worker ${this.pid} exited (${code ?? signal}) before sending '${type}'`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`worker ${this.pid} sent no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(onMessage);
      this.child.once('exit', onExit);
    });
  }
}

/** Starts worker processes and kills (SIGKILL, by pid) every one it started. */
export class Workers {
  private readonly started: Worker[] = [];

  /** `script`: a path relative to this directory (`test/support`). */
  async start(script: string, count: number, env: Record<string, string>): Promise<Worker[]> {
    const workers = Array.from({ length: count }, () => {
      const child = fork(path.resolve(__dirname, script), [], {
        execArgv: ['-r', 'ts-node/register/transpile-only'],
        env: { ...process.env, ...env, TS_NODE_PROJECT: path.resolve(__dirname, '../../../../tsconfig.json') },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const worker = new Worker(child);
      this.started.push(worker);
      return worker;
    });
    await Promise.all(workers.map(async (worker) => (worker.ready = await worker.next('ready', 120_000))));
    return workers;
  }

  async stopAll(): Promise<void> {
    const workers = this.started.splice(0);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
            worker.child.once('exit', () => resolve());
            worker.child.kill('SIGKILL');
          }),
      ),
    );
  }
}
