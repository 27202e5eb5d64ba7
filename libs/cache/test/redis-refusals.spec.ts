import { mkdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { type RedisProcess, startRedis, useRedis, waitFor } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';

/**
 * A Redis that answers but refuses (full under `noeviction`, a read-only replica, an ACL denial, writes
 * stopped after a failed snapshot): real redis-server processes in each state. The breaker counts only
 * calls Redis did not answer, so before refusals were told apart a Redis refusing every write while
 * answering every read produced no log line at all; now the first refusal is logged once with what to
 * change, the cache keeps serving (reads from Redis included), and a write that lands again is logged.
 */
describe('Redis refusing commands (real redis-server)', () => {
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());
  const servers: RedisProcess[] = [];
  afterEach(async () => void (await Promise.all(servers.splice(0).map((server) => server.stop()))));
  const start = async (options: Parameters<typeof startRedis>[0]) => {
    const server = await startRedis(options);
    servers.push(server);
    return server;
  };

  const refusals = (logger: RecordingLogger) => logger.lines.filter((line) => line.level === 'warn' && line.message.startsWith('Redis tier refuses commands'));

  it('full under maxmemory-policy noeviction: logged once with the fix, the breaker stays closed, reads still come from Redis', async () => {
    const server = await start({ config: { maxmemory: '4mb', 'maxmemory-policy': 'noeviction' } });
    const logger = new RecordingLogger();
    const a = await apps.create({ redis: server.url, logger });
    const b = await apps.create({ redis: server.url });
    await a.cache.set('before', { v: 1 });
    const admin = server.client();
    // Every write now finds Redis over its limit (reads and deletes are still served).
    await admin.config('SET', 'maxmemory', '1');
    const errorsBefore = a.cache.stats().l2.errors;
    for (let i = 0; i < 5; i++) await a.cache.set(`k${i}`, { i }); // more than failureThreshold (3)
    expect(a.cache.stats().l2.errors).toBeGreaterThanOrEqual(errorsBefore + 5);
    expect(a.cache.stats().l2.state).toBe('closed');
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(/maxmemory-policy to volatile-lru or volatile-lfu.*answers come from L1, Redis reads and factories.*Redis said: OOM command not allowed/);
    expect(logger.count(/Redis tier unavailable/)).toBe(0);
    expect(await a.cache.get('k0')).toEqual({ i: 0 }); // L1
    expect(await b.cache.get('k0')).toBeUndefined(); // never reached Redis
    expect(await b.cache.get('before')).toEqual({ v: 1 }); // read from Redis, full as it is
    // The refused writes' keys are deleted by the replay (DEL is allowed when full), which is not logged
    // each time while the refusal lasts (it would be every probe interval while writes keep failing).
    await a.cache.set('k5', { i: 5 });
    expect(a.cache.stats().l2.pending).toBeGreaterThan(0); // in the same turn as the refused write: not replayed yet
    await waitFor(() => a.cache.stats().l2.pending === 0, { message: 'the refused writes were never replayed' });
    expect(logger.count(/^Redis tier: replayed/)).toBe(0);

    await admin.config('SET', 'maxmemory', '0');
    await a.cache.set('after', { v: 2 });
    expect(logger.count(/^Redis tier takes writes again$/)).toBe(1);
    expect(await b.cache.get('after')).toEqual({ v: 2 });
    // A later refusal of the same kind is a new episode: logged again.
    expect(refusals(logger)).toHaveLength(1);
  });

  it('a read-only replica: the write refusal names it, and reads of what the primary wrote come through', async () => {
    const primary = await start({});
    const replica = await start({ config: { replicaof: ['127.0.0.1', String(primary.port)] } });
    const admin = replica.client();
    await waitFor(async () => /master_link_status:up/.test(await admin.info('replication')), { message: 'the replica never synced' });
    const logger = new RecordingLogger();
    const onReplica = await apps.create({ redis: replica.url, logger });
    const onPrimary = await apps.create({ redis: primary.url });
    await onReplica.cache.set('k', 1);
    await onReplica.cache.set('k', 2);
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(/read-only replica\..*point redis at the primary.*Redis said: READONLY/);
    expect(onReplica.cache.stats().l2.state).toBe('closed');
    // The bus's catch-up creates its log's epoch with a write, refused too: logged once, retried backing off.
    expect(logger.count(/^Invalidation bus: subscribing failed \(.*READONLY/)).toBe(1);
    await onPrimary.cache.set('shared', { from: 'primary' });
    await waitFor(async () => (await onReplica.cache.get('shared')) !== undefined, { message: 'the replica never served the primary’s write' });
    expect(await onReplica.cache.get('shared')).toEqual({ from: 'primary' });
    // Readable: the replica has the primary's writes and messages; refused writes are not counted.
    expect(refusals(logger)[0].message).toMatch(/answers come from L1, Redis reads and factories/);
    for (let i = 0; i < 4; i++) await onReplica.cache.set(`w${i}`, i);
    expect(onReplica.cache.stats().l2.state).toBe('closed');
  });

  it('scripts disabled (EVAL and EVALSHA renamed away) are no refusal: Redis is left unused, said once, and the bus says so once', async () => {
    // Invalidation times, fenced writes and the bus need scripts: reading entries from a Redis where they
    // cannot be recorded could serve what another instance invalidated, so the breaker opens instead.
    const server = await start({ config: { 'rename-command': [['EVALSHA', '""'], ['EVAL', '""']] } });
    const logger = new RecordingLogger();
    const { cache } = await apps.create({ redis: server.url, logger });
    let runs = 0;
    for (let i = 0; i < 6; i++) {
      await cache.set(`k${i}`, i);
      expect(await cache.getOrSet(`g${i}`, async () => ++runs)).toBe(runs);
      await cache.invalidateTags(['t']);
    }
    await waitFor(() => cache.stats().l2.state === 'open', { message: 'the breaker never opened' });
    expect(refusals(logger)).toHaveLength(0);
    expect(logger.count(/^Redis tier unavailable \(ERR unknown command 'EVALSHA'/)).toBe(1);
    expect(logger.count(/^Invalidation bus: subscribing failed \(ERR unknown command 'EVALSHA'\); retrying/)).toBe(1);
  });

  it('a breaker flapping on such a Redis (PING passes, the scripts fail) is logged once, not every cycle', async () => {
    const server = await start({ config: { 'rename-command': [['EVALSHA', '""'], ['EVAL', '""']] } });
    const logger = new RecordingLogger();
    const { cache } = await apps.create({ redis: server.url, logger, probeInterval: '50ms' });
    let opens = 0;
    cache.events.on('circuit-open', () => void (opens += 1));
    let n = 0;
    // getOrSet only: its scripts fail and open the breaker, a PING probe closes it, and again.
    await waitFor(async () => (await cache.getOrSet(`g${++n}`, async () => n), opens >= 5), { timeoutMs: 30_000, message: 'the breaker did not flap' });
    expect(logger.count(/^Redis tier unavailable \(ERR unknown command 'EVALSHA'/)).toBe(1);
    expect(logger.count(/^Redis tier available again/)).toBe(1); // the first cycle's, then none while it flaps
    expect(logger.count(/^Redis tier: replayed/)).toBeLessThanOrEqual(1);
  });

  describe('an ACL user without SET', () => {
    const redis = useRedis();
    it('the refusal says a permission is missing and where the list of them is', async () => {
      const admin: Redis = redis.client();
      await admin.call('ACL', 'SETUSER', 'noset', 'on', '>pw', '~*', '&*', '+@all', '-set');
      const logger = new RecordingLogger();
      const { cache } = await apps.create({ redis: `redis://noset:pw@127.0.0.1:${redis.port}`, logger });
      await cache.set('k', 1);
      await cache.set('k', 2);
      expect(refusals(logger)).toHaveLength(1);
      expect(refusals(logger)[0].message).toMatch(/lacks a permission the cache needs.*ACL SETUSER line.*opens the breaker.*Redis said: NOPERM/);
      // Open at once, though reads and the dependency lookups succeed in between (a failure count would never open it).
      expect(cache.stats().l2.state).toBe('open');
      // The bus's catch-up script needs SET too: its subscription is refused, logged once, retried backing off.
      expect(logger.count(/^Invalidation bus: subscribing failed/)).toBe(1);
      expect(await cache.getOrSet('computed', async () => 3)).toBe(3); // the factory's answer
    });
  });

  it('writes stopped after a failed snapshot (MISCONF, which refuses PING too): logged with the fix, reads still served, and the end of it', async () => {
    const server = await start({ config: { save: ['3600', '1'], 'stop-writes-on-bgsave-error': 'yes', dbfilename: 'blocked.rdb' } });
    const admin = server.client();
    const logger = new RecordingLogger();
    const a = await apps.create({ redis: server.url, logger });
    await a.cache.set('before', { v: 1 });
    // The snapshot cannot be renamed into place: its file name is taken by a directory.
    const blocked = path.join(server.dir, 'blocked.rdb');
    mkdirSync(blocked);
    await admin.bgsave();
    await waitFor(async () => /rdb_last_bgsave_status:err/.test(await admin.info('persistence')), { message: 'the snapshot did not fail' });
    await a.cache.set('k', 1);
    expect(refusals(logger)).toHaveLength(1);
    expect(refusals(logger)[0].message).toMatch(/last snapshot \(BGSAVE\) failed.*Redis said: MISCONF/);
    expect(a.cache.stats().l2.state).toBe('closed');
    // An instance started now: its first PING is refused, which is an answer, so it reads from Redis.
    const startedLate = new RecordingLogger();
    const b = await apps.create({ redis: server.url, logger: startedLate });
    expect(startedLate.count(/Redis not reachable at startup/)).toBe(0);
    expect(await b.cache.get('before')).toEqual({ v: 1 });
    rmdirSync(blocked);
    await admin.bgsave();
    await waitFor(async () => /rdb_last_bgsave_status:ok/.test(await admin.info('persistence')), { message: 'the snapshot did not recover' });
    await a.cache.set('k', 2);
    expect(logger.count(/^Redis tier takes writes again$/)).toBe(1);
    expect(await b.cache.get('k')).toBe(2);
  });
});
