import { Redis } from 'ioredis';
import { rawCommand, replyValue } from './redis-server';
import { RedisSentinelProcess, startSentinel } from './redis-sentinel';
import { waitForValue } from './wait-for';

/** The port of the server a client is connected to, as that server reports it. */
async function connectedPort(client: Redis): Promise<number> {
  const info = await client.info('server');
  return Number(/^tcp_port:(\d+)/m.exec(info)?.[1]);
}

describe('startSentinel()', () => {
  let setup: RedisSentinelProcess;

  beforeAll(async () => {
    setup = await startSentinel();
  }, 180_000);

  afterAll(async () => {
    await setup?.stop();
  });

  it('starts 1 master, 1 replica and 3 Sentinels that know each other', async () => {
    expect(setup.sentinels).toHaveLength(3);
    await expect(setup.currentMaster()).resolves.toBe(setup.master);
    for (const sentinel of setup.sentinels) {
      const others = replyValue(await rawCommand(sentinel.port, ['SENTINEL', 'SENTINELS', 'mymaster']));
      expect(others).toHaveLength(2);
      const replicas = replyValue(await rawCommand(sentinel.port, ['SENTINEL', 'REPLICAS', 'mymaster']));
      expect(replicas).toHaveLength(1);
    }
  });

  it('serves ioredis clients that connect through the Sentinels, before and after SENTINEL FAILOVER', async () => {
    const client = setup.client();
    // subscribes to +switch-master on the Sentinels and reconnects as soon as the failover is announced
    const detecting = setup.client({ failoverDetector: true });
    await client.set('harness:before', 'v1');
    await expect(client.wait(1, 2_000)).resolves.toBe(1); // on the replica before it is promoted
    await expect(detecting.get('harness:before')).resolves.toBe('v1');
    await expect(connectedPort(client)).resolves.toBe(setup.master.port);
    await expect(connectedPort(detecting)).resolves.toBe(setup.master.port);

    const newMaster = await setup.failover();
    expect(newMaster).toBe(setup.replica);
    await waitForValue(
      () => connectedPort(detecting),
      (port) => port === newMaster.port,
      { timeoutMs: 30_000, intervalMs: 50, message: 'the failoverDetector client to move to the new master' },
    );
    await detecting.set('harness:detected', 'v2');
    await expect(newMaster.client().get('harness:detected')).resolves.toBe('v2');

    // A default client stays on the old master until Sentinel turns it into a replica and kills
    // its connections (some 10 s later); then it asks the Sentinels again and lands on the new master.
    await setup.waitForHealthy();
    await expect(setup.master.client().info('replication')).resolves.toMatch(/^role:slave/m);
    await waitForValue(
      async () => {
        await client.set('harness:after', 'v3');
        return connectedPort(client);
      },
      (port) => port === newMaster.port,
      { timeoutMs: 30_000, intervalMs: 100, message: 'the default client to write to the new master' },
    );
    await expect(client.get('harness:before')).resolves.toBe('v1');
    await expect(newMaster.client().get('harness:after')).resolves.toBe('v3');
  }, 180_000);
});
