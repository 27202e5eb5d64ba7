import { postgresRefusals } from '../postgres/postgres-refusal';
import { tablesOf } from '../postgres/postgres.schema';
import { eventually } from '../testing/suite-support';
import { ColdGuard } from './cold.guard';

/** A refusal as node-postgres raises it: an Error with the SQLSTATE in `code` (here: no connection slot left). */
function tooManyConnections(): Error {
  return Object.assign(new Error('too many connections for role "cache"'), { code: '53300' });
}

describe('ColdGuard refusals', () => {
  it('a refusal that opened the breaker ends when it closes (not when a forced change gets through meanwhile), even with nothing to replay: the next one of its kind is told again', async () => {
    const lines: string[] = [];
    const logger = { log: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: () => undefined };
    let now = 0;
    let refuse = false;
    const guard = new ColdGuard({
      failureThreshold: 5,
      probeInterval: 10,
      deadline: 5_000,
      probe: async () => {
        if (refuse) throw tooManyConnections();
      },
      replay: { times: async () => undefined, track: async () => undefined, patterns: async () => undefined, deletes: async () => undefined },
      logger,
      refusal: postgresRefusals(tablesOf('strata_cache')),
      now: () => now,
    });
    try {
      expect(await guard.connect(5_000)).toBe(true);
      const told = () => lines.filter((line) => line.startsWith('PostgreSQL cold tier refuses commands'));
      for (let round = 1; round <= 2; round++) {
        refuse = true;
        // A read refused: nothing to remember, and the breaker opens at once.
        expect(await guard.call(async () => Promise.reject(tooManyConnections()), 'fallback')).toBe('fallback');
        expect(guard.state).not.toBe('closed');
        expect(told()).toHaveLength(round);
        // A change forced through while the breaker stays open (a table the role may still write) ends nothing.
        expect(await guard.force(async () => undefined, () => undefined)).toBe(true);
        expect(lines.filter((line) => line === 'PostgreSQL cold tier takes writes again')).toHaveLength(round - 1);
        refuse = false;
        await eventually(() => guard.state === 'closed', 'the breaker to close once the probe passes');
        expect(guard.pending).toBe(0);
        expect(lines.filter((line) => line === 'PostgreSQL cold tier takes writes again')).toHaveLength(round);
        now += 61_000; // past the repeat window: the same refusal is news again
      }
      expect(lines.filter((line) => /unavailable|available again/.test(line))).toEqual([]);
    } finally {
      guard.dispose();
    }
  });
});
