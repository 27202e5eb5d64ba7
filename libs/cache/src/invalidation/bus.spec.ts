import type { BusTransport } from '../ports/bus-transport';
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
