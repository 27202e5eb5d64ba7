import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';
import { TICK_WRITE_BATCH, tickWrites } from '../src/redis/redis.tick-writes';
import { useCluster, useRedis } from './harness';

/**
 * tickWrites (redis/redis.tick-writes.ts), on a real redis-server: `hold()` before each command corks the
 * client's socket until the end of the tick, so the commands of one tick leave in one socket write per
 * `TICK_WRITE_BATCH` commands.
 * Writes are counted where the socket hands data to the OS: `_write` (one chunk) and `_writev` (several).
 */

/** Counts the socket's `_write` / `_writev` calls from now on (the originals still run). */
function countWrites(stream: Socket): { readonly count: number } {
  const counter = { count: 0 };
  const write = stream._write.bind(stream);
  stream._write = (chunk, encoding, callback) => {
    counter.count += 1;
    write(chunk, encoding, callback);
  };
  const writev = stream._writev?.bind(stream);
  if (writev !== undefined) {
    stream._writev = (chunks, callback) => {
      counter.count += 1;
      writev(chunks, callback);
    };
  }
  return counter;
}

/** Resolves in a later turn of the event loop: the tick that called it, and its microtasks, are over. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const N = 20;
const numbers = Array.from({ length: N }, (_, i) => String(i));

describe('tickWrites on a standalone client', () => {
  const redis = useRedis();
  let client: Redis;
  let stream: Socket;
  let writes: { readonly count: number };

  beforeEach(async () => {
    client = redis.client();
    await client.flushall();
    stream = client.stream as Socket;
    writes = countWrites(stream);
  });

  afterEach(() => client.disconnect());

  it('sends the commands of one tick in one socket write per batch, with every reply right and in order', async () => {
    const hold = tickWrites(client);

    // Baseline, same client, same commands, no hold: a write each.
    let before = writes.count;
    const plain = Promise.all(numbers.map((n) => client.rpush('plain', n)));
    const plainWrites = writes.count - before;
    await plain;
    expect(plainWrites).toBeGreaterThan(1);

    // Held: one write per full batch as the tick goes on, the rest when it ends; twice (the cork is
    // taken again in a later tick).
    expect(N).toBeGreaterThan(2 * TICK_WRITE_BATCH);
    for (const list of ['held:1', 'held:2']) {
      before = writes.count;
      const sentDuringTick: number[] = [];
      const lengths = Promise.all(
        numbers.map((n) => {
          hold();
          sentDuringTick.push(writes.count - before);
          return client.rpush(list, n);
        }),
      );
      // Nothing leaves until a batch is full; the first command of the next batch sends the full one.
      expect(sentDuringTick).toEqual(numbers.map((_, i) => Math.floor(i / TICK_WRITE_BATCH)));
      await nextTurn();
      expect(writes.count - before).toBe(Math.ceil(N / TICK_WRITE_BATCH));
      // RPUSH answers the list's length: 1, 2, … N in the order sent; the list holds them in that order.
      expect(await lengths).toEqual(numbers.map((_, i) => i + 1));
      expect(await client.lrange(list, 0, -1)).toEqual(numbers);
    }

    // Commands of different kinds in one tick: each gets its own reply.
    before = writes.count;
    hold();
    const set = client.set('a', 'x');
    hold();
    const get = client.get('a');
    hold();
    const first = client.incr('n');
    hold();
    const second = client.incrby('n', 5);
    hold();
    const missing = client.get('missing');
    hold();
    const both = client.mget('a', 'missing');
    await nextTurn();
    expect(writes.count - before).toBe(1);
    expect(await Promise.all([set, get, first, second, missing, both])).toEqual(['OK', 'x', 1, 6, null, ['x', null]]);
  });

  it('does not hold back a command sent in a later tick: it leaves when its tick ends, with nothing sent after it', async () => {
    const hold = tickWrites(client);
    await client.set('early', '1');
    // Two ticks one after the other, one command each: the cork is taken in each and released at its end.
    for (const round of [1, 2]) {
      await nextTurn();
      const before = writes.count;
      hold();
      const late = client.get('early');
      expect({ round, corked: stream.writableCorked }).toEqual({ round, corked: 1 }); // held for the rest of this tick…
      await nextTurn();
      // …and released when it ended, with no other command sent
      expect({ round, corked: stream.writableCorked, writes: writes.count - before }).toEqual({ round, corked: 0, writes: 1 });
      await expect(late).resolves.toBe('1');
    }
  });

  it('leaves a client that is not ready alone: before it connects, during its handshake, while it reconnects', async () => {
    // Not connected yet (status 'wait', no socket): the command waits in the offline queue and is answered.
    const lazy = redis.client({ lazyConnect: true });
    const lazyHold = tickWrites(lazy);
    expect(lazy.status).toBe('wait');
    expect(() => lazyHold()).not.toThrow();
    const queued = lazy.set('lazy', 'v');
    await expect(queued).resolves.toBe('OK');
    expect(await lazy.get('lazy')).toBe('v');
    lazy.disconnect();

    // Connected but not ready (status 'connect', its ready check under way): its socket is not corked.
    const handshaking = redis.client({ lazyConnect: true });
    const handshakeHold = tickWrites(handshaking);
    const seen = new Promise<{ status: string; corked: number }>((resolve) => {
      handshaking.once('connect', () => {
        handshakeHold();
        resolve({ status: handshaking.status, corked: handshaking.stream.writableCorked });
      });
    });
    await handshaking.connect();
    expect(await seen).toEqual({ status: 'connect', corked: 0 });
    handshaking.disconnect();

    // Offline: the server dropped the connection and the client is reconnecting (its socket destroyed).
    const offline = redis.client();
    const id = await offline.client('ID');
    const offlineHold = tickWrites(offline);
    const reconnecting = new Promise<{ status: string; thrown: unknown; reply: Promise<string | null> }>((resolve) => {
      offline.once('reconnecting', () => {
        let thrown: unknown;
        try {
          offlineHold();
        } catch (error) {
          thrown = error;
        }
        resolve({ status: offline.status, thrown, reply: offline.get('early') });
      });
    });
    await client.set('early', '1');
    expect(await client.client('KILL', 'ID', String(id))).toBe(1);
    const state = await reconnecting;
    expect(state.status).toBe('reconnecting');
    expect(state.thrown).toBeUndefined();
    await expect(state.reply).resolves.toBe('1'); // sent from the offline queue once it reconnected
    offline.disconnect();

    // Its socket destroyed before ioredis has noticed (status still 'ready'): not corked either.
    const dropped = redis.client();
    await dropped.ping();
    const droppedHold = tickWrites(dropped);
    const socket = dropped.stream;
    socket.destroy();
    expect(dropped.status).toBe('ready');
    expect(() => droppedHold()).not.toThrow();
    expect(socket.writableCorked).toBe(0);
    dropped.disconnect();
  });
});

describe('tickWrites on a Cluster client', () => {
  const cluster = useCluster({ masters: 3, replicasPerMaster: 0 });

  it('returns a hold that does nothing for a Cluster that has not connected', () => {
    const lazy = new Cluster([...cluster.process.startupNodes], { lazyConnect: true });
    const hold = tickWrites(lazy);
    expect(() => hold()).not.toThrow();
    expect(lazy.status).toBe('wait');
    expect(lazy.nodes('all')).toEqual([]);
    lazy.disconnect();
  });

  it('corks none of the node sockets of a connected Cluster, and every command is answered', async () => {
    const client = cluster.process.client();
    await Promise.all(cluster.process.masters.map((_, i) => client.set(`warm:${i}`, '1')));
    const nodes = client.nodes('master');
    await Promise.all(nodes.map((node) => node.ping())); // every node connected
    const hold = tickWrites(client);
    const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
    const sets = Promise.all(
      keys.map((key) => {
        hold();
        return client.set(key, key);
      }),
    );
    expect(nodes.map((node) => node.stream.writableCorked)).toEqual(nodes.map(() => 0));
    expect(await sets).toEqual(keys.map(() => 'OK'));
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
  });
});
