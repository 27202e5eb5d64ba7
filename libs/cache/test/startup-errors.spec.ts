import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getFreePort, rawCommand, startRedis, startSentinel, useRedis } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';

/** A Redis the app cannot use at startup: the log line names where it tried and why it failed (connectTimeout 5 s: time for the failure itself to happen on a busy machine). */
describe('Redis not reachable at startup: the address and the cause are logged', () => {
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());
  const redis = useRedis();

  const startupLine = (logger: RecordingLogger) => {
    const line = logger.lines.find((l) => /Redis not reachable at startup/.test(l.message))?.message;
    process.stdout.write(`${line}\n`);
    return line;
  };

  it('a TLS certificate that does not verify (a self-signed server certificate, no CA given)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'strata-tls-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      const tlsPort = await getFreePort();
      const secure = await startRedis({
        config: { 'tls-port': String(tlsPort), 'tls-cert-file': cert, 'tls-key-file': key, 'tls-ca-cert-file': cert, 'tls-auth-clients': 'no' },
      });
      try {
        const logger = new RecordingLogger();
        await apps.create({ redis: `rediss://127.0.0.1:${tlsPort}`, prefix: 'tls', logger, connectTimeout: 5000 });
        const line = startupLine(logger);
        expect(line).toContain(`at 127.0.0.1:${tlsPort} (TLS): `);
        expect(line).toMatch(/self[- ]signed certificate/i);
        await apps.closeAll();
      } finally {
        await secure.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong password', async () => {
    await redis.client().call('ACL', 'SETUSER', 'app', 'on', '>right', '~*', '&*', '+@all');
    const logger = new RecordingLogger();
    await apps.create({ redis: `redis://app:wrong@127.0.0.1:${redis.port}`, prefix: 'pw', logger, connectTimeout: 5000 });
    expect(startupLine(logger)).toMatch(new RegExp(`at 127\\.0\\.0\\.1:${redis.port}: WRONGPASS`));
  });

  it('a wrong Sentinel password', async () => {
    const sentinel = await startSentinel({ sentinels: 1, quorum: 1 });
    try {
      for (const s of sentinel.sentinels) await rawCommand(s.port, ['ACL', 'SETUSER', 'default', 'on', 'resetpass', '>right'], 1_000);
      const logger = new RecordingLogger();
      const sentinels = sentinel.sentinelAddresses.map(({ host, port }) => ({ host, port }));
      await apps.create({ redis: { sentinels, name: sentinel.masterName, sentinelPassword: 'wrong' }, prefix: 'sp', logger, connectTimeout: 5000 });
      const line = startupLine(logger);
      expect(line).toContain(`master '${sentinel.masterName}' through Sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`);
      expect(line).toMatch(/WRONGPASS|NOAUTH|invalid username-password|sentinels are unreachable/i);
      await apps.closeAll();
      for (const s of sentinel.sentinels) await rawCommand(s.port, ['AUTH', 'right'], 1_000).catch(() => undefined);
    } finally {
      await sentinel.stop();
    }
  }, 180_000);
});
