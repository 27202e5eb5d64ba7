import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.types';

/** A Lua script and its SHA1, run with EVALSHA (EVAL when the server does not know it yet). */
export interface LuaScript {
  readonly body: string;
  readonly sha: string;
}

export function script(body: string): LuaScript {
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

type Arg = string | number | Buffer;

/**
 * Runs `lua` on `keys` (on a Cluster they must share one slot, a `{hash tag}`) with EVALSHA, falling
 * back to EVAL on NOSCRIPT (a restart or a failover empties the script cache). `binary`: bulk replies
 * come back as Buffers (entry bytes), not strings.
 */
export function runScript(client: RedisClient, lua: LuaScript, keys: readonly string[], args: readonly Arg[], binary = false): Promise<unknown> {
  const call = (command: 'EVALSHA' | 'EVAL', code: string) =>
    binary ? client.callBuffer(command, code, keys.length, ...keys, ...args) : client.call(command, code, keys.length, ...keys, ...args);
  return call('EVALSHA', lua.sha).catch((error: unknown) => {
    if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
    return call('EVAL', lua.body);
  });
}
