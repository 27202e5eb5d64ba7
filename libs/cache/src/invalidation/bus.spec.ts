import type { BusHandlers, BusTransport } from '../ports/bus-transport';
import { type BusChange, type BusMessage, InvalidationBus } from './bus';

/** A transport that records what is published, in order (the bus's batching is its own logic, not Redis's). */
function recording(): { transport: BusTransport; sent: BusMessage[]; fail: { now: boolean } } {
  const sent: BusMessage[] = [];
  const fail = { now: false };
  const transport = {
    publish: async (text: string) => {
      if (fail.now) throw new Error('down');
      sent.push(JSON.parse(text) as BusMessage);
    },
    subscribe: () => undefined,
    readLog: async () => ({ epoch: 'e', created: false, uptime: 1, lastId: '0-0', intact: true, entries: [] }),
    publishable: true,
    onPublishable: () => () => undefined,
    resubscribeNow: () => undefined,
    close: async () => undefined,
  } as unknown as BusTransport;
  return { transport, sent, fail };
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('InvalidationBus publishing', () => {
  const make = () => {
    const { transport, sent, fail } = recording();
    const bus = new InvalidationBus(transport, { logSize: 100, instanceId: 'me', pingInterval: 1000, pingTimeout: 1000, logger: silent }, {
      message: () => undefined,
      down: () => '',
      up: () => undefined,
    } as never);
    const fields = () => sent.map(({ k, c, t, p }) => JSON.parse(JSON.stringify({ k, c, t, p })) as BusChange);
    return { bus, sent, fail, fields };
  };

  it('runs of key changes of one tick with one creation time leave as one message, in the order of the calls', async () => {
    const { bus, fields } = make();
    const results = await Promise.all([
      bus.publish({ k: ['a'], c: 5 }),
      bus.publish({ k: ['b', 'c'], c: 5 }),
      bus.publish({ k: ['d'] }), // a delete: the next message
      bus.publish({ k: ['e'] }),
      bus.publish({ k: ['f'], c: 5 }), // the same time as the first run, after the deletes: a message of its own
      bus.publish({ k: ['g'], c: 6 }),
    ]);
    expect(results).toEqual([true, true, true, true, true, true]);
    expect(fields()).toEqual([{ k: ['a', 'b', 'c'], c: 5 }, { k: ['d', 'e'] }, { k: ['f'], c: 5 }, { k: ['g'], c: 6 }]);
  });

  it('any other change sends the keys queued before it first', async () => {
    const { bus, fields } = make();
    await Promise.all([bus.publish({ k: ['a'], c: 1 }), bus.publish({ t: [['tag:x', 9]] }), bus.publish({ k: ['b'], c: 1 }), bus.publish({ p: ['p:*'] })]);
    expect(fields()).toEqual([{ k: ['a'], c: 1 }, { t: [['tag:x', 9]] }, { k: ['b'], c: 1 }, { p: ['p:*'] }]);
  });

  it('a batch that cannot be published tells every caller, each keeping its own change to send again', async () => {
    const { bus, fail, fields } = make();
    fail.now = true;
    expect(await Promise.all([bus.publish({ k: ['a'], c: 1 }), bus.publish({ k: ['b'], c: 1 })])).toEqual([false, false]);
    expect(bus.pendingAnnouncements).toBe(2);
    fail.now = false;
    expect(await bus.publish({ k: ['c'], c: 2 })).toBe(true);
    expect(fields()).toEqual([{ k: ['c'], c: 2 }]);
  });
});

describe('InvalidationBus receiving', () => {
  const buses: InvalidationBus[] = [];
  afterEach(async () => {
    for (const bus of buses.splice(0)) await bus.close(); // its resend timer
  });

  /** A bus on a transport whose channel and log the test drives: what it delivers, and where catch-up reads from. */
  const make = () => {
    let handlers: BusHandlers | undefined;
    const readFrom: string[] = [];
    const transport = {
      publish: async () => undefined,
      subscribe: (h: BusHandlers) => void (handlers = h),
      readLog: async (after: string) => {
        readFrom.push(after);
        return { epoch: 'E', created: false, uptime: 1e9, lastId: '1-0', intact: true, entries: [] };
      },
      publishable: true,
      onPublishable: () => () => undefined,
      resubscribeNow: () => undefined,
      close: async () => undefined,
    } as unknown as BusTransport;
    const heard: BusMessage[] = [];
    const bus = new InvalidationBus(transport, { logSize: 100, instanceId: 'me', pingInterval: 60_000, pingTimeout: 1000, logger: silent }, {
      message: (message: BusMessage) => void heard.push(message),
      down: () => '',
      up: () => undefined,
    } as never);
    bus.start();
    buses.push(bus);
    return { bus, heard, readFrom, channel: () => handlers! };
  };
  // As the Redis transport publishes it: the log's epoch and the entry id, then the message, origin first.
  const stamped = (id: string, origin: string, keys: string[]) => `{"e":"E","i":"${id}",${JSON.stringify({ o: origin, k: keys, at: 1 }).slice(1)}`;

  it("passes other instances' messages on, drops its own without delivering them, and both move its place in the log", async () => {
    const { heard, readFrom, channel } = make();
    await channel().catchUp(); // the first subscription: its place is the log's end
    channel().up();
    channel().message(stamped('5-0', 'me', ['a']));
    channel().message(stamped('6-0', 'other', ['b']));
    channel().message(stamped('7-0', 'me', ['c', 'd']));
    // Its own are known by their start alone, the rest is not parsed (a batch can hold many keys).
    channel().message('{"e":"E","i":"8-0","o":"me",…');
    expect(heard.map((m) => m.k)).toEqual([['b']]);
    // A gap: catching up reads the log after the last message seen, its own included.
    channel().down('test', false);
    await channel().catchUp();
    expect(readFrom[readFrom.length - 1]).toBe('8-0');
  });

  it('anything else is parsed and checked: an origin that starts with its id, another form, a malformed message', async () => {
    const { heard, channel } = make();
    await channel().catchUp();
    channel().up();
    channel().message(stamped('5-0', 'me2', ['a'])); // another origin that starts with this one's id
    channel().message(JSON.stringify({ o: 'me', k: ['b'], at: 1 })); // its own in another transport's form: parsed, dropped
    channel().message('{"e":"E","i":"6-0","o":"other","k":[1],"at":1}'); // malformed: keys are strings
    channel().message(`{"e":"E","i":"7-0",${JSON.stringify({ k: ['x'], o: 'other', at: 1 }).slice(1)}`); // origin not first
    expect(heard.map((m) => [m.o, m.k])).toEqual([
      ['me2', ['a']],
      ['other', ['x']],
    ]);
  });
});
