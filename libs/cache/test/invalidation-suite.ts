import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { type RedisHandle, useRedis } from './harness';
import { CacheFactory } from './cache-factory';

/** `KEYS` renamed away: any use of it by the invalidation code fails these suites. */
export const WITHOUT_KEYS = { 'rename-command': ['KEYS', '""'] } as const;

export interface InvalidationSuite {
  /** The suite's server; `url` connects as the restricted ACL user (see `aclUser`), `client()` as the admin. */
  redis: RedisHandle;
  apps: CacheFactory;
  /** An admin client to the suite's server (created on first use, closed with the server). */
  admin(): Redis;
  /** A fresh key prefix, so tests never see each other's keys or bus messages. */
  prefix(): string;
}

/**
 * The README's `ACL SETUSER strata …` line (section "Running on Redis in production"), as the rules of a
 * `user` line in redis.conf, for prefixes matching `prefixGlob` and this password. Read from the README so
 * the documented permissions are the tested ones.
 */
export function documentedAclRules(prefixGlob: string, password: string): string[] {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('ACL SETUSER strata '));
  if (line === undefined) throw new Error('README.md has no `ACL SETUSER strata …` line');
  return line
    .split(' ')
    .slice(3)
    .map((rule) => (rule === '>CHANGE-ME' ? `>${password}` : rule.replace(/^([~&])app:\*$/, `$1${prefixGlob}:*`)));
}

/**
 * What every invalidation spec starts with: its own Redis without KEYS, apps closed after each test. Apps
 * connect as an ACL user that may only do what the README documents, on keys and channels under
 * `<label>…:`; a denied command fails the test (ACL LOG is checked after each one).
 */
export function useInvalidationSuite(label: string): InvalidationSuite {
  const password = randomBytes(12).toString('hex');
  // In redis.conf, so a restarted server (the outage tests) still has the user.
  const server = useRedis({ config: { ...WITHOUT_KEYS, user: [['strata', ...documentedAclRules(`${label}*`, password)]] } });
  const apps = new CacheFactory();
  let admin: Redis | undefined;
  let n = 0;
  afterEach(() => apps.closeAll());
  afterEach(async () => {
    if (!server.process.isRunning() || server.process.isPaused()) return;
    const client = (admin ??= server.client());
    const denied = (await client.call('ACL', 'LOG')) as unknown[];
    await client.call('ACL', 'LOG', 'RESET');
    expect(denied.map((entry) => describeDenial(entry as unknown[]))).toEqual([]);
  });
  const redis: RedisHandle = {
    get process() {
      return server.process;
    },
    get host() {
      return server.host;
    },
    get port() {
      return server.port;
    },
    get url() {
      return `redis://strata:${password}@${server.host}:${server.port}`;
    },
    client: (opts) => server.client(opts),
  };
  return {
    redis,
    apps,
    admin: () => (admin ??= server.client()),
    prefix: () => `${label}${++n}`,
  };
}

/** An ACL LOG entry (a flat field/value list) as `reason object (username)`. */
function describeDenial(entry: unknown[]): string {
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
  return `${String(fields.get('reason'))} ${String(fields.get('object'))} (${String(fields.get('username'))})`;
}
