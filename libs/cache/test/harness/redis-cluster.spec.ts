import { RedisClusterProcess, startCluster } from './redis-cluster';
import { waitFor, waitForValue } from './wait-for';

describe('startCluster()', () => {
  let cluster: RedisClusterProcess;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('creates 3 masters and 3 replicas on distinct ports', async () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.masters).toHaveLength(3);
    expect(cluster.replicas).toHaveLength(3);
    const ports = cluster.nodes.flatMap((node) => [node.port, node.busPort]);
    expect(new Set(ports).size).toBe(12);
    for (const node of cluster.nodes) {
      expect(node.nodeId).toMatch(/^[0-9a-f]{40}$/);
      await expect(node.role()).resolves.toBe(node.initialRole);
    }
  });

  it('stores and reads 100 keys through an ioredis Cluster client, spread over every master', async () => {
    const client = cluster.client();
    const keys = Array.from({ length: 100 }, (_, i) => `harness:key:${i}`);
    await Promise.all(keys.map((key, i) => client.set(key, String(i))));
    await expect(Promise.all(keys.map((key) => client.get(key)))).resolves.toEqual(keys.map((_, i) => String(i)));
    for (const master of cluster.masters) {
      await expect(master.client().dbsize()).resolves.toBeGreaterThan(0);
    }
  });

  it('fails over when a master is killed, and the restarted node rejoins as a replica', async () => {
    const client = cluster.client();
    const victim = cluster.masters[0];
    if (victim === undefined) {
      throw new Error('no master');
    }
    // A key in one of the victim's slots, written straight to it (other slots answer MOVED, which
    // counts as "try another key") and acknowledged by its replica: replication is asynchronous, and
    // a write the replica has not received yet is lost when the master dies.
    const victimClient = victim.client();
    const slotOwnerKey = await waitForValue(
      async () => {
        const key = `failover:${Math.random().toString(36).slice(2)}`;
        await victimClient.set(key, 'before');
        return key;
      },
      () => true,
      { timeoutMs: 30_000, intervalMs: 1, message: 'a key in a slot of the first master' },
    );
    await expect(victimClient.wait(1, 2_000)).resolves.toBe(1);
    const otherNodes = cluster.nodes.filter((node) => node !== victim);

    await victim.kill();
    // its replica is promoted after cluster-node-timeout (2 s) plus an election
    await waitFor(
      async () => {
        const roles = await Promise.all(otherNodes.map((node) => node.role()));
        return roles.filter((role) => role === 'master').length === 3;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'a replica to take over the killed master' },
    );
    await waitForValue(
      () => client.get(slotOwnerKey),
      (value) => value === 'before',
      { timeoutMs: 30_000, intervalMs: 100, message: 'the cluster client to read through the new master' },
    );

    await victim.restart();
    await cluster.waitForHealthy(15_000);
    await expect(victim.role()).resolves.toBe('replica');
  }, 180_000);
});
