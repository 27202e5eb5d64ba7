/** One of the stampede suite's processes: builds every library once, then runs storms when told to. */
import 'reflect-metadata';
import { makeContext } from '../lib';
import type { Peer } from '../peers';
import { stampedePeers, storm } from './stampede.suite';

async function main(): Promise<void> {
  const ctx = makeContext(process.argv[2], false);
  // lru-cache fetch() is per process by nature: it is left out of the cross-process table.
  const peers = (await stampedePeers(ctx)).filter((p) => p.name !== 'lru-cache fetch()');
  const byName = new Map<string, Peer>(peers.map((p) => [p.name, p]));
  const send = (message: object) => process.send?.(message);
  process.on('message', (message: { type: string; name?: string; key?: string; callers?: number; startAt?: number }) => {
    void (async () => {
      if (message.type === 'names') send({ type: 'names', value: peers.map((p) => p.name) });
      else if (message.type === 'run') {
        const peer = byName.get(message.name!)!;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.startAt! - Date.now())));
        const result = await storm(peer, message.key!, message.callers!, ctx.value);
        send({ type: 'result', name: peer.name, ...result });
      } else if (message.type === 'stop') {
        for (const peer of peers) await peer.close();
        await ctx.close();
        process.disconnect?.();
        process.exit(0);
      }
    })();
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
