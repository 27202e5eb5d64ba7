/**
 * A real Redis Sentinel setup for tests: one master, one replica (`replicaof`) and (by default) three
 * Sentinels (`redis-server <conf> --sentinel`) monitoring the master, all on 127.0.0.1.
 */
import { Redis, RedisOptions } from 'ioredis';
import {
  RedisConfig,
  RedisProcess,
  ReplyValue,
  closeClient,
  rawCommand,
  replyText,
  replyValue,
  startRedis,
} from './redis-server';
import { waitFor } from './wait-for';

export interface StartSentinelOptions {
  /** The monitored master's name (default `mymaster`). */
  masterName?: string;
  /** Number of Sentinels (default 3). */
  sentinels?: number;
  /** Sentinels needed to agree the master is down (default 2). */
  quorum?: number;
  /** `sentinel down-after-milliseconds` (default 1000). */
  downAfterMs?: number;
  /** `sentinel failover-timeout` (default 5000). */
  failoverTimeoutMs?: number;
  /** Extra config for the master and the replica. */
  config?: RedisConfig;
  /** Extra config for the Sentinels (`sentinel monitor` and the timings above are set by the harness). */
  sentinelConfig?: RedisConfig;
  /** How long `startSentinel()` waits for the setup to be healthy (default 30 000 ms). */
  readyTimeoutMs?: number;
}

export interface RedisSentinelProcess {
  readonly masterName: string;
  /** The server started as master (after a failover it is a replica). */
  readonly master: RedisProcess;
  /** The server started as replica (after a failover it is the master). */
  readonly replica: RedisProcess;
  /** `[master, replica]` */
  readonly dataNodes: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  /** `{ host, port }` of every Sentinel, for `new Redis({ sentinels, name })`. */
  readonly sentinelAddresses: readonly { host: string; port: number }[];
  /** A tracked ioredis client that finds the master through the Sentinels; disconnected by `stop()`. */
  client(opts?: RedisOptions): Redis;
  /** The data node the (first running) Sentinel currently names as master. */
  currentMaster(): Promise<RedisProcess>;
  /**
   * `SENTINEL FAILOVER <name>`, then waits until every running Sentinel names the other data node
   * as master and that node reports `role:master` (about 1 s). Returns the new master.
   *
   * The old master is NOT a replica yet at that point: Sentinel reconfigures it (and kills its
   * client connections) only some 8-12 s later, and until then it still accepts writes from clients
   * that stay connected to it. Pass `waitForHealthy: true` (or call `waitForHealthy()`) to wait for that.
   */
  failover(opts?: { timeoutMs?: number; waitForHealthy?: boolean }): Promise<RedisProcess>;
  /**
   * Waits until every running Sentinel names the same running master, lists every other running
   * data node as a replica (flags exactly `slave`, so not down or disconnected) and knows every
   * other Sentinel, and every running replica is linked (`master_link_status:up`) to that master.
   */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Stops the Sentinels first (so nothing fails over during teardown), then the data nodes. Idempotent. */
  stop(): Promise<void>;
}

type Fields = Record<string, string>;

function toFields(value: ReplyValue): Fields {
  const fields: Fields = {};
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) {
      const key: unknown = value[i];
      const val: unknown = value[i + 1];
      if (typeof key === 'string' && typeof val === 'string') {
        fields[key] = val;
      }
    }
  }
  return fields;
}

async function sentinelCommand(sentinel: RedisProcess, args: readonly string[]): Promise<ReplyValue> {
  return replyValue(await rawCommand(sentinel.port, ['SENTINEL', ...args], 1_000));
}

async function masterAddress(sentinel: RedisProcess, name: string): Promise<number | undefined> {
  const reply = await sentinelCommand(sentinel, ['GET-MASTER-ADDR-BY-NAME', name]);
  return Array.isArray(reply) && typeof reply[1] === 'string' ? Number(reply[1]) : undefined;
}

async function infoField(port: number, field: string): Promise<string | undefined> {
  const text = replyText(await rawCommand(port, ['INFO', 'replication'], 1_000)) ?? '';
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/** Starts master, replica and Sentinels and waits until the Sentinels know the replica and each other. */
export async function startSentinel(options: StartSentinelOptions = {}): Promise<RedisSentinelProcess> {
  const masterName = options.masterName ?? 'mymaster';
  const sentinelCount = options.sentinels ?? 3;
  const quorum = options.quorum ?? 2;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const startedProcesses: RedisProcess[] = [];
  const clients = new Set<Redis>();

  try {
    const master = await startRedis({ name: 'sentinel-master', config: options.config });
    startedProcesses.push(master);
    const replica = await startRedis({
      name: 'sentinel-replica',
      config: { ...options.config, replicaof: [master.host, String(master.port)] },
    });
    startedProcesses.push(replica);
    // Sentinels learn replicas from the master's INFO, which they read every 10 s once connected:
    // start them after the replica is attached so they see it in their first INFO.
    await waitFor(async () => (await infoField(replica.port, 'master_link_status')) === 'up', {
      timeoutMs: readyTimeoutMs,
      message: `replica ${replica.port} to sync with master ${master.port}`,
    });

    const sentinels = await Promise.all(
      Array.from({ length: sentinelCount }, (_, i) =>
        startRedis({
          sentinel: true,
          name: `sentinel-${i}`,
          config: {
            ...options.sentinelConfig,
            sentinel: [
              ['monitor', masterName, master.host, String(master.port), String(quorum)],
              ['down-after-milliseconds', masterName, String(options.downAfterMs ?? 1_000)],
              ['failover-timeout', masterName, String(options.failoverTimeoutMs ?? 5_000)],
            ],
          },
        }),
      ),
    );
    startedProcesses.push(...sentinels);

    const dataNodes = [master, replica];
    const byPort = (port: number | undefined): RedisProcess | undefined => dataNodes.find((node) => node.port === port);
    const runningSentinels = (): RedisProcess[] => sentinels.filter((sentinel) => sentinel.isRunning());
    const sentinelAddresses = sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port }));

    let problem = 'not checked yet';
    const healthy = async (): Promise<boolean> => {
      const [first] = runningSentinels();
      if (first === undefined) {
        problem = 'no Sentinel is running';
        return false;
      }
      const masterNode = byPort(await masterAddress(first, masterName));
      if (masterNode === undefined || !masterNode.isRunning()) {
        problem = `sentinel ${first.port} names no running master`;
        return false;
      }
      const expectedReplicas = dataNodes.filter((node) => node !== masterNode && node.isRunning());
      for (const sentinel of runningSentinels()) {
        const fields = toFields(await sentinelCommand(sentinel, ['MASTER', masterName]));
        if (Number(fields.port) !== masterNode.port || fields.flags !== 'master') {
          problem = `sentinel ${sentinel.port} sees master ${fields.ip}:${fields.port} flags ${fields.flags}`;
          return false;
        }
        if (Number(fields['num-other-sentinels']) !== sentinels.length - 1) {
          problem = `sentinel ${sentinel.port} knows ${fields['num-other-sentinels']} other sentinels`;
          return false;
        }
        const replicaList = await sentinelCommand(sentinel, ['REPLICAS', masterName]);
        const replicas = Array.isArray(replicaList) ? replicaList.map(toFields) : [];
        for (const expected of expectedReplicas) {
          const seen = replicas.find((r) => Number(r.port) === expected.port);
          // master-port / master-link-status here are cached from INFO every 10 s: the replica's own INFO below is checked instead
          if (seen?.flags !== 'slave') {
            problem = `sentinel ${sentinel.port} sees replica ${expected.port} as ${JSON.stringify(seen ?? 'unknown')}`;
            return false;
          }
        }
      }
      for (const node of expectedReplicas) {
        const link = await infoField(node.port, 'master_link_status');
        const port = await infoField(node.port, 'master_port');
        if (link !== 'up' || Number(port) !== masterNode.port) {
          problem = `replica ${node.port}: master_port ${String(port)}, master_link_status ${String(link)}`;
          return false;
        }
      }
      return true;
    };

    const waitForHealthy = (timeoutMs = readyTimeoutMs): Promise<void> =>
      waitFor(healthy, { timeoutMs, intervalMs: 100, message: () => `a healthy Sentinel setup (${problem})` });

    const currentMaster = async (): Promise<RedisProcess> => {
      const [first] = runningSentinels();
      if (first === undefined) {
        throw new Error('no Sentinel is running');
      }
      const port = await masterAddress(first, masterName);
      const node = byPort(port);
      if (node === undefined) {
        throw new Error(`sentinel ${first.port} names an unknown master (port ${String(port)})`);
      }
      return node;
    };

    let stopping: Promise<void> | undefined;
    const handle: RedisSentinelProcess = {
      masterName,
      master,
      replica,
      dataNodes,
      sentinels,
      sentinelAddresses,
      client(opts?: RedisOptions): Redis {
        const client = new Redis({ ...opts, sentinels: sentinelAddresses.map((a) => ({ ...a })), name: masterName });
        clients.add(client);
        client.once('end', () => clients.delete(client));
        return client;
      },
      currentMaster,
      async failover(opts = {}): Promise<RedisProcess> {
        const timeoutMs = opts.timeoutMs ?? readyTimeoutMs;
        const oldMaster = await currentMaster();
        const [first] = runningSentinels();
        if (first === undefined) {
          throw new Error('no Sentinel is running');
        }
        // A Sentinel that took FAILOVER can still give up (no replica it deems good yet: one still syncing
        // after an earlier failover, on a busy machine) and does not try again by itself: asked again after
        // twice its failover-timeout, until `timeoutMs`.
        const askAgainMs = 2 * (options.failoverTimeoutMs ?? 5_000);
        const deadline = Date.now() + timeoutMs;
        let seen = '';
        let replies: string[] = [];
        const switched = async () => {
          const ports = await Promise.all(runningSentinels().map((s) => masterAddress(s, masterName)));
          seen = ports.join(', ');
          return ports.every((port) => port !== oldMaster.port && byPort(port) !== undefined);
        };
        for (;;) {
          const reply = await sentinelCommand(first, ['FAILOVER', masterName]).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
          replies = [...replies, JSON.stringify(reply)];
          if (replies.length === 1 && reply !== 'OK') throw new Error(`SENTINEL FAILOVER ${masterName} answered ${JSON.stringify(reply)}`);
          try {
            await waitFor(switched, {
              timeoutMs: Math.max(100, Math.min(askAgainMs, deadline - Date.now())),
              intervalMs: 100,
              message: () => `every Sentinel to name a new master instead of ${oldMaster.port} (they name ${seen}; FAILOVER answered ${replies.join(', ')})`,
            });
            break;
          } catch (error) {
            if (Date.now() >= deadline) throw error;
          }
        }
        const newMaster = await currentMaster();
        await waitFor(async () => (await infoField(newMaster.port, 'role')) === 'master', {
          timeoutMs,
          intervalMs: 50,
          message: `the new master ${newMaster.port} to report role:master`,
        });
        if (opts.waitForHealthy === true) {
          await waitForHealthy(timeoutMs);
        }
        return newMaster;
      },
      waitForHealthy,
      stop(): Promise<void> {
        stopping ??= (async () => {
          await Promise.all([...clients].map((client) => closeClient(client)));
          clients.clear();
          await Promise.all(sentinels.map((sentinel) => sentinel.stop()));
          await Promise.all(dataNodes.map((node) => node.stop()));
        })();
        return stopping;
      },
    };

    await waitForHealthy();
    return handle;
  } catch (err: unknown) {
    await Promise.all([...clients].map((client) => closeClient(client)));
    await Promise.all(startedProcesses.map((server) => server.stop()));
    throw err;
  }
}
