import { EventEmitter } from 'node:events';
import { CacheTelemetry } from '../observability/telemetry';
import type { L2Facade } from '../tiers/l2.facade';
import type { InvalidationBus } from './bus';
import { MemoryTier } from '../tiers/memory.tier';
import type { BusMessage } from './bus';
import { L1Coherence } from './coherence';
import { InvalidationTimes } from './invalidation-times';

/** An L2 facade as coherence sees it: available, over a connection that closes and comes back. */
function fakeL2(client: EventEmitter & { status: string; ping?: () => Promise<string> }): L2Facade {
  return {
    available: true,
    ping: async () => void (await client.ping!()),
    get connected() {
      return client.status === 'ready';
    },
    watchConnection(listener: (state: 'ready' | 'down') => void) {
      const down = () => listener('down');
      const ready = () => listener('ready');
      client.on('close', down);
      client.on('ready', ready);
      return () => {
        client.off('close', down);
        client.off('ready', ready);
      };
    },
  } as unknown as L2Facade;
}

describe('L1Coherence', () => {
  const setup = () => {
    const l1 = new MemoryTier({ maxEntries: 100, maxBytes: 1 << 20, parse: (s) => JSON.parse(s.text) });
    const times = new InvalidationTimes(undefined);
    const counters = new CacheTelemetry([]);
    const coherence = new L1Coherence(l1, undefined, times, counters);
    const store = (key: string, createdAt = 1) =>
      l1.store({ key, entry: { value: key, createdAt, expiresAt: 1e15, staleUntil: 1e15, tags: ['tag:x'] }, serialized: { text: JSON.stringify(key), tagged: false } });
    const message = (m: Partial<BusMessage>): BusMessage => ({ o: 'other', at: performance.timeOrigin + performance.now(), ...m });
    return { l1, times, counters, coherence, store, message };
  };

  it('a read in flight when its key is deleted elsewhere does not promote; other keys still do', () => {
    const { coherence, message } = setup();
    const mark = coherence.mark();
    coherence.message(message({ k: ['a'] }));
    expect(coherence.mayPromote('a', 10, mark)).toBe(false);
    expect(coherence.mayPromote('b', 10, mark)).toBe(true);
    expect(coherence.mayPromote('a', 10, coherence.mark())).toBe(true); // a read begun after the drop
  });

  it('a write message drops older L1 copies only: the announced write itself (already read back) or a newer one stays', () => {
    const { l1, coherence, store, message } = setup();
    store('same', 500);
    store('newer', 600);
    store('older', 499);
    coherence.message(message({ k: ['same', 'newer', 'older'], c: 500 }));
    expect([...l1.keys()].sort()).toEqual(['newer', 'same']);
    coherence.message(message({ k: ['same'] })); // a delete: every copy goes
    expect([...l1.keys()]).toEqual(['newer']);
  });

  it('a read that fetched the very write a message announces may promote it, an older one may not', () => {
    const { coherence, message } = setup();
    const mark = coherence.mark();
    coherence.message(message({ k: ['a'], c: 500 }));
    expect(coherence.mayPromote('a', 500, mark)).toBe(true);
    expect(coherence.mayPromote('a', 499, mark)).toBe(false);
    expect(coherence.mayStore('a', mark)).toBe(false); // our own write raced theirs: L1 stays out of it
  });

  it('drops the named keys and the keys a pattern matches, and applies times', () => {
    const { l1, times, coherence, store, message } = setup();
    for (const key of ['p:n:c:user%3A1', 'p:n:c:user%3A2', 'p:n:c:order%3A1', 'p:n:c:x']) store(key);
    coherence.message(message({ k: ['p:n:c:x'], p: ['p:n:c:user%3A*'], t: [['tag:x', 5]] }));
    expect([...l1.keys()]).toEqual(['p:n:c:order%3A1']);
    expect(times.isCurrent({ value: 1, createdAt: 5, expiresAt: 9, staleUntil: 9, tags: ['tag:x'] }, 'ns')).toBe(false);
    expect(times.isCurrent({ value: 1, createdAt: 6, expiresAt: 9, staleUntil: 9, tags: ['tag:x'] }, 'ns')).toBe(true);
  });

  it('down: times are not trusted and in-flight reads do not promote; up again, the gap lost: L1 cleared, times forgotten, counted', () => {
    const { l1, times, counters, coherence, store } = setup();
    coherence.up({ lost: true, recovered: 0 }); // the first subscription is not a reconcile
    expect(counters.bus.reconnects).toBe(0);
    store('a');
    times.apply('tag:x', 0);
    const mark = coherence.mark();
    coherence.down('test', false);
    expect(times.trusted).toBe(false);
    expect(coherence.mayPromote('z', 1, mark)).toBe(false);
    coherence.up({ lost: true, recovered: 0 });
    expect(times.trusted).toBe(true);
    expect(l1.entries).toBe(0);
    expect(counters.bus).toMatchObject({ reconnects: 1, clears: 1, recovered: 0 });
  });

  it('up again with the gap read back from the log: L1 and known times kept, in-flight reads still do not promote', () => {
    const { l1, times, counters, coherence, store, message } = setup();
    coherence.up({ lost: true, recovered: 0 });
    store('a');
    store('b');
    times.apply('tag:x', 7);
    coherence.down('test', false);
    const mark = coherence.mark();
    coherence.message(message({ k: ['b'] })); // read back from the log
    coherence.up({ lost: false, recovered: 1 });
    expect([...l1.keys()]).toEqual(['a']);
    expect(times.isCurrent({ value: 1, createdAt: 7, expiresAt: 9, staleUntil: 9, tags: ['tag:x'] }, 'ns')).toBe(false);
    expect(coherence.mayPromote('z', 1, mark)).toBe(false);
    expect(counters.bus).toMatchObject({ reconnects: 1, clears: 0, recovered: 1 });
  });

  it('a "drop everything" message (announcements that overflowed) clears L1 and forgets times', () => {
    const { l1, times, coherence, store, message } = setup();
    store('a');
    times.apply('tag:x', 7);
    coherence.message(message({ a: 1 }));
    expect(l1.entries).toBe(0);
    expect(times.isCurrent({ value: 1, createdAt: 1, expiresAt: 9, staleUntil: 9, tags: ['tag:x'] }, 'ns')).toBe(true);
  });

  describe('trusting L1 through a Redis outage', () => {
    afterEach(() => jest.useRealTimers());

    it('while Redis is gone, and for a grace after it answers again while the bus catches up; then L1 is bypassed', () => {
      jest.useFakeTimers({ now: 0 });
      const client = Object.assign(new EventEmitter(), { status: 'ready' });
      const l2 = fakeL2(client);
      const bus = { up: true } as { up: boolean };
      const l1 = new MemoryTier({ maxEntries: 10, maxBytes: 1 << 20, parse: (t) => JSON.parse(t.text) });
      const coherence = new L1Coherence(l1, l2, new InvalidationTimes(undefined), new CacheTelemetry([]));
      coherence.attach(bus as unknown as InvalidationBus, 2000);
      expect(coherence.trustL1).toBe(true);

      // Redis killed: the main connection closes, the bus goes down.
      client.status = 'reconnecting';
      client.emit('close');
      bus.up = false;
      coherence.down('test', false);
      expect(coherence.trustL1).toBe(true);
      jest.advanceTimersByTime(60_000); // however long the outage
      expect(coherence.trustL1).toBe(true);

      // Redis answers again; the bus has not caught up yet.
      client.status = 'ready';
      client.emit('ready');
      jest.advanceTimersByTime(1999);
      expect(coherence.trustL1).toBe(true);
      jest.advanceTimersByTime(2);
      expect(coherence.trustL1).toBe(false); // the bus never came back: bypass L1, as in any bus gap

      bus.up = true;
      coherence.up({ lost: false, recovered: 0 });
      expect(coherence.trustL1).toBe(true);
      coherence.detach();
      expect(client.listenerCount('close') + client.listenerCount('ready')).toBe(0);
    });

    it('a bus gap while Redis answers bypasses L1 at once', () => {
      const client = Object.assign(new EventEmitter(), { status: 'ready' });
      const l2 = fakeL2(client);
      const bus = { up: true };
      const coherence = new L1Coherence(undefined, l2, new InvalidationTimes(undefined), new CacheTelemetry([]));
      coherence.attach(bus as unknown as InvalidationBus, 2000);
      bus.up = false;
      coherence.down('test', false);
      expect(coherence.trustL1).toBe(false);
    });

    it('a silent bus (PING unanswered): trusted while Redis answers nobody, bypassed at once if Redis answers, and after the grace once it does', async () => {
      const pings: Array<{ answer(): void }> = [];
      let answers = false;
      const client = Object.assign(new EventEmitter(), {
        status: 'ready',
        ping: () => (answers ? Promise.resolve('PONG') : new Promise<string>((resolve) => pings.push({ answer: () => resolve('PONG') }))),
      });
      const l2 = fakeL2(client);
      const make = () => {
        const bus = { up: true };
        const coherence = new L1Coherence(undefined, l2, new InvalidationTimes(undefined), new CacheTelemetry([]));
        coherence.attach(bus as unknown as InvalidationBus, 2000, 50);
        return { bus, coherence };
      };
      const settled = () => new Promise((resolve) => setImmediate(resolve));

      // Only the subscription died: Redis answers the main connection's PING.
      const dead = make();
      dead.bus.up = false;
      expect(dead.coherence.down('no PONG', true)).toMatch(/L1 keeps serving while Redis itself does not answer/);
      expect(dead.coherence.trustL1).toBe(true); // the PING is in flight
      pings.shift()!.answer();
      await settled();
      expect(dead.coherence.trustL1).toBe(false);

      // Redis frozen: the PING times out, L1 stays trusted for as long as Redis does not answer.
      jest.useFakeTimers({ now: 0, doNotFake: ['setImmediate'] });
      const frozen = make();
      frozen.bus.up = false;
      frozen.coherence.down('no PONG', true);
      for (let i = 0; i < 10; i++) {
        await jest.advanceTimersByTimeAsync(100);
        expect(frozen.coherence.trustL1).toBe(true);
      }
      // Thawed: a PING answers, and the bus has the grace (2000 ms) to catch up before L1 is bypassed.
      answers = true;
      await jest.advanceTimersByTimeAsync(100); // the next PING
      expect(frozen.coherence.trustL1).toBe(true);
      await jest.advanceTimersByTimeAsync(1850);
      expect(frozen.coherence.trustL1).toBe(true);
      await jest.advanceTimersByTimeAsync(200);
      expect(frozen.coherence.trustL1).toBe(false);
      frozen.coherence.detach();
    });
  });
});
