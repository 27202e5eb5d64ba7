import type { Socket } from 'node:net';
import { type RedisClient, isCluster } from './redis.types';

const holders = new WeakMap<RedisClient, () => void>();

/**
 * Returns `hold()`, to call just before sending a command on `client`: the commands sent in the rest of
 * this tick of the event loop leave in one socket write instead of one each. At 64 reads in flight the
 * replies arrive in batches and their callers send their next commands in one tick, and a write per
 * command was the largest cost of an L2 hit (Node's writeUtf8String, a syscall each; measured on raw
 * ioredis: 2.2× the reads a second and 1.75× fewer CPU µs per read with the tick's writes corked). The
 * write waits for nothing but the end of the current tick (no reply, unlike ioredis's auto-pipelining,
 * which holds a batch until the previous one is answered). A Cluster client, or one not ready (its
 * commands go to the offline queue), is left alone.
 */
export function tickWrites(client: RedisClient): () => void {
  let hold = holders.get(client);
  if (hold === undefined) {
    hold = isCluster(client) ? () => undefined : holder(client);
    holders.set(client, hold);
  }
  return hold;
}

function holder(client: RedisClient & { stream?: Socket }): () => void {
  let corked: Socket | undefined;
  const release = () => {
    const stream = corked;
    corked = undefined;
    stream?.uncork();
  };
  return () => {
    if (corked !== undefined || client.status !== 'ready') return;
    const stream = client.stream;
    if (stream === undefined || stream.destroyed) return;
    stream.cork();
    corked = stream;
    process.nextTick(release);
  };
}
