import { existsSync } from 'node:fs';
import { type PostgresProcess, startPostgres, waitFor } from './index';

/** The PostgreSQL harness against real servers: start, data across a crash, pause, stop/start, cleanup. */
describe('PostgreSQL harness', () => {
  let pg: PostgresProcess;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 180_000);
  afterAll(() => pg?.close(), 30_000);

  it('starts a server on loopback with its own database', async () => {
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/strata`);
    const [row] = await pg.query<{ db: string; port: string }>("SELECT current_database() AS db, current_setting('port') AS port");
    expect(row).toEqual({ db: 'strata', port: String(pg.port) });
  });

  it('keeps data across kill() + start() (crash recovery) and restart()', async () => {
    await pg.query('CREATE TABLE IF NOT EXISTS kept (v int)');
    await pg.query('INSERT INTO kept VALUES (1)');
    const before = pg.pid;
    await pg.kill();
    expect(pg.isRunning()).toBe(false);
    await expect(pg.query('SELECT 1')).rejects.toThrow();
    await pg.start();
    expect(pg.pid).not.toBe(before);
    expect(await pg.query('SELECT v FROM kept')).toEqual([{ v: 1 }]);
    await pg.restart();
    expect(await pg.query('SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 1 }]);
  }, 180_000);

  it('pause() freezes every backend of an open connection until resume()', async () => {
    const client = await pg.connect();
    await pg.pause();
    expect(pg.isPaused()).toBe(true);
    let answered = false;
    const pending = client.query('SELECT 42 AS n').then((r) => {
      answered = true;
      return r.rows;
    });
    // A baseline in the same test: a fresh query on another server would answer in this time; ours must not.
    const other = await startPostgres();
    try {
      await other.query('SELECT 1');
    } finally {
      await other.close();
    }
    expect(answered).toBe(false);
    await pg.resume();
    expect(await pending).toEqual([{ n: 42 }]);
    await client.end();
  }, 180_000);

  it('stop() shuts down (clients disconnected), start() brings it back, close() removes the directory', async () => {
    const client = await pg.connect();
    await pg.stop();
    expect(pg.isRunning()).toBe(false);
    await pg.start();
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await waitFor(async () => (await pg.query<{ n: number }>('SELECT 1::int AS n'))[0].n === 1);
    const other = await startPostgres({ database: 'other' });
    const dir = other.dataDir;
    await other.close();
    expect(existsSync(dir)).toBe(false);
  }, 180_000);
});
