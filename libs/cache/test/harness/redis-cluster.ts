/**
 * A real Redis Cluster for tests: `masters * (1 + replicasPerMaster)` servers on 127.0.0.1, joined
 * with `redis-cli --cluster create`. Needs Redis >= 7.0 (the cluster bus port is set with
 * `cluster-port`, so both ports come from the free-port picker instead of `port + 10000`).
 */
import { execFile } from 'node:child_process';
import { Cluster, ClusterOptions } from 'ioredis';
import {
  LOOPBACK,
  RedisConfig,
  RedisProcess,
  RedisStartError,
  closeClient,
  findExecutable,
  getFreePort,
  rawCommand,
  replyText,
  startRedis,
} from './redis-server';
import { waitFor } from './wait-for';

export type ClusterRole = 'master' | 'replica';

/**
 * A cluster node: a {@link RedisProcess} (kill, pause, resume, restart, client...) plus its cluster
 * identity. `restart()` after `kill()` keeps nodes.conf, so the node rejoins with the same id; it
 * comes back without data (a master restarted before its replica took over has lost its keys, and
 * one restarted after the failover rejoins as a replica of the new master).
 */
export type RedisClusterNode = RedisProcess & {
  /** The 40-character cluster node id (kept across `restart()`, which keeps nodes.conf). */
  readonly nodeId: string;
  /** The cluster bus port (`cluster-port`). */
  readonly busPort: number;
  /** The role the node got when the cluster was created. */
  readonly initialRole: ClusterRole;
  /** The role it reports now (after failovers it can differ from {@link initialRole}). */
  role(): Promise<ClusterRole>;
};

export interface StartClusterOptions {
  /** Default 3 (the minimum for a cluster that can fail over). */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms (default 2000). */
  nodeTimeoutMs?: number;
  /** Extra config for every node. */
  config?: RedisConfig;
  /** How long to wait for `cluster_state:ok` everywhere and every replica link up (default 30 000 ms). */
  readyTimeoutMs?: number;
}

export interface RedisClusterProcess {
  /** All nodes, in creation order (masters first). */
  readonly nodes: readonly RedisClusterNode[];
  /** The nodes created as masters / replicas (roles at creation; see `role()` for the current one). */
  readonly masters: readonly RedisClusterNode[];
  readonly replicas: readonly RedisClusterNode[];
  /** `{ host, port }` of every node, for `new Cluster(startupNodes)`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** A tracked `ioredis` Cluster client, disconnected by `stop()`. */
  client(opts?: ClusterOptions): Cluster;
  /**
   * Waits until every running node says `cluster_state:ok` and knows all nodes, and every running
   * replica has `master_link_status:up`.
   */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node (and closes tracked clients). Idempotent. */
  stop(): Promise<void>;
}

const PORT_ATTEMPTS = 5;

async function infoField(port: number, section: string, field: string): Promise<string | undefined> {
  const text = replyText(await rawCommand(port, ['INFO', section], 1_000)) ?? '';
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

async function clusterInfoField(port: number, field: string): Promise<string | undefined> {
  const text = replyText(await rawCommand(port, ['CLUSTER', 'INFO'], 1_000)) ?? '';
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

async function currentRole(port: number): Promise<ClusterRole> {
  return (await infoField(port, 'replication', 'role')) === 'master' ? 'master' : 'replica';
}

/** Starts one cluster-enabled server; picks new ports if the chosen ones were taken meanwhile. */
async function startNode(index: number, options: StartClusterOptions): Promise<{ server: RedisProcess; busPort: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await getFreePort();
    let busPort = await getFreePort();
    while (busPort === port) {
      busPort = await getFreePort();
    }
    try {
      const server = await startRedis({
        port,
        bindRetryMs: 0,
        name: `cluster-node-${index}`,
        config: {
          'cluster-enabled': 'yes',
          'cluster-config-file': 'nodes.conf',
          'cluster-node-timeout': String(options.nodeTimeoutMs ?? 2_000),
          'cluster-port': String(busPort),
          ...options.config,
        },
      });
      return { server, busPort };
    } catch (err: unknown) {
      if (!(err instanceof RedisStartError && err.addressInUse) || attempt >= PORT_ATTEMPTS) {
        throw err;
      }
    }
  }
}

function runRedisCli(args: readonly string[], timeoutMs: number): Promise<string> {
  const binary = findExecutable('redis-cli');
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/**
 * Starts `masters * (1 + replicasPerMaster)` cluster-enabled servers, creates the cluster with
 * `redis-cli --cluster create`, and waits until it is healthy. Stops everything it started if any
 * step fails.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (masters < 3) {
    throw new Error('redis-cli --cluster create needs at least 3 masters');
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  findExecutable('redis-cli'); // fail before starting anything if it is missing

  const total = masters * (1 + replicasPerMaster);
  const started = await Promise.allSettled(Array.from({ length: total }, (_, i) => startNode(i, options)));
  const ok = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(ok.map(({ server }) => server.stop()));
    throw failed.reason;
  }

  const clients = new Set<Cluster>();
  let cluster: RedisClusterProcess | undefined;
  try {
    await runRedisCli(
      [
        '--cluster',
        'create',
        ...ok.map(({ server }) => `${LOOPBACK}:${server.port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      readyTimeoutMs,
    );

    const nodes: RedisClusterNode[] = await Promise.all(
      ok.map(async ({ server, busPort }) => {
        const nodeId = replyText(await rawCommand(server.port, ['CLUSTER', 'MYID'], 1_000)) ?? '';
        const initialRole = await currentRole(server.port);
        return Object.assign(server, {
          nodeId,
          busPort,
          initialRole,
          role: () => currentRole(server.port),
        });
      }),
    );
    // masters first, each group in creation order
    nodes.sort((a, b) => (a.initialRole === b.initialRole ? 0 : a.initialRole === 'master' ? -1 : 1));

    let stopping: Promise<void> | undefined;
    const handle: RedisClusterProcess = {
      nodes,
      masters: nodes.filter((node) => node.initialRole === 'master'),
      replicas: nodes.filter((node) => node.initialRole === 'replica'),
      startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
      client(opts?: ClusterOptions): Cluster {
        const client = new Cluster(
          nodes.map((node) => ({ host: node.host, port: node.port })),
          opts,
        );
        clients.add(client);
        client.once('end', () => clients.delete(client));
        return client;
      },
      async waitForHealthy(timeoutMs = readyTimeoutMs): Promise<void> {
        let problem = 'not checked yet';
        await waitFor(
          async () => {
            for (const node of nodes) {
              if (!node.isRunning()) {
                continue;
              }
              const state = await clusterInfoField(node.port, 'cluster_state');
              const known = await clusterInfoField(node.port, 'cluster_known_nodes');
              if (state !== 'ok' || known !== String(nodes.length)) {
                problem = `node ${node.port}: cluster_state ${String(state)}, cluster_known_nodes ${String(known)}`;
                return false;
              }
              if ((await currentRole(node.port)) === 'replica') {
                const link = await infoField(node.port, 'replication', 'master_link_status');
                if (link !== 'up') {
                  problem = `replica ${node.port}: master_link_status ${String(link)}`;
                  return false;
                }
              }
            }
            return true;
          },
          {
            timeoutMs,
            intervalMs: 100,
            message: () => `a healthy cluster (${problem})`,
          },
        );
      },
      stop(): Promise<void> {
        stopping ??= (async () => {
          await Promise.all([...clients].map((client) => closeClient(client)));
          clients.clear();
          await Promise.all(nodes.map((node) => node.stop()));
        })();
        return stopping;
      },
    };
    cluster = handle;
    await handle.waitForHealthy();
    return handle;
  } catch (err: unknown) {
    if (cluster !== undefined) {
      await cluster.stop();
    } else {
      await Promise.all(ok.map(({ server }) => server.stop()));
    }
    throw err;
  }
}
