import type { BusHandlers, BusTransport } from '../ports/bus-transport';
import { type AdaptersFactory, eventually, uniqueKey, useAdapters } from './suite-support';

interface Recorder extends BusHandlers {
  readonly received: string[];
  readonly events: string[];
}

function recorder(): Recorder {
  const received: string[] = [];
  const events: string[] = [];
  return {
    received,
    events,
    message: (text) => void received.push(text),
    down: (reason) => void events.push(`down:${reason}`),
    catchUp: async () => void events.push('catchUp'),
    up: () => void events.push('up'),
  };
}

/** What every `BusTransport` must do: two sets of adapters on one backend act as two instances. */
export function registerBusTransportSuite(name: string, factory: AdaptersFactory): void {
  describe(`${name}: BusTransport conformance`, () => {
    const adapters = useAdapters(factory);
    const bus = (found: BusTransport | undefined): BusTransport => {
      if (found === undefined) throw new Error(`${name} declares no bus transport`);
      return found;
    };

    it('reads the gap back, then is up; a publish reaches the other subscriber stamped with the epoch and its log id', async () => {
      const here = bus(adapters.current.bus);
      const there = bus((await adapters.another()).bus);
      const a = recorder();
      const b = recorder();
      here.subscribe(a);
      there.subscribe(b);
      await eventually(() => a.events.includes('up') && b.events.includes('up'), 'both to subscribe');
      expect(b.events.slice(0, 2)).toEqual(['catchUp', 'up']);
      expect(here.publishable).toBe(true);
      const mark = uniqueKey('message');
      await here.publish(JSON.stringify({ o: 'here', mark }));
      await eventually(() => b.received.some((text) => text.includes(mark)), 'the message to arrive');
      const got = JSON.parse(b.received.find((text) => text.includes(mark))!) as { e: string; i: string; o: string; mark: string };
      expect(got.o).toBe('here');
      expect(got.mark).toBe(mark);
      expect(typeof got.e).toBe('string');
      // The publisher hears its own messages too; the bus above tells them apart by origin.
      await eventually(() => a.received.some((text) => text.includes(mark)), 'the publisher to hear it');

      const page = await here.readLog('0-0', 10_000);
      expect(page.epoch).toBe(got.e);
      const entry = page.entries.find(([, text]) => text.includes(mark));
      expect(entry?.[0]).toBe(got.i);
      expect(page.lastId).toBe(got.i);
    });

    it('reads the log after a cursor, in order, with an intact flag and a stable epoch', async () => {
      const here = bus(adapters.current.bus);
      const marks = [uniqueKey('m1'), uniqueKey('m2'), uniqueKey('m3')];
      for (const mark of marks) await here.publish(JSON.stringify({ o: 'here', mark }));
      const all = await here.readLog('0-0', 10_000);
      const ids = marks.map((mark) => all.entries.find(([, text]) => text.includes(mark))![0]);
      const after = await here.readLog(ids[0], 10_000);
      expect(after.epoch).toBe(all.epoch);
      expect(after.created).toBe(false);
      expect(after.intact).toBe(true);
      const texts = after.entries.map(([, text]) => text);
      expect(texts.findIndex((t) => t.includes(marks[1]))).toBeLessThan(texts.findIndex((t) => t.includes(marks[2])));
      expect(texts.some((t) => t.includes(marks[0]))).toBe(false);
      const paged = await here.readLog(ids[0], 1);
      expect(paged.entries).toHaveLength(1);
      expect(typeof after.uptime).toBe('number');
    });

    it('a cursor trimmed away (or never there) is not intact', async () => {
      const here = bus(adapters.current.bus);
      const page = await here.readLog('1-1', 10);
      expect(page.intact).toBe(false);
    });
  });
}
