import { redisRefusal } from '../redis/redis-refusal';
import { recordedLog } from './log-lines.fixture';
import { StoreRefusals } from './store-refusals';

describe('StoreRefusals', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function build() {
    const { logger, lines, now, advance } = recordedLog();
    return { refusals: new StoreRefusals(redisRefusal, logger, undefined, now), lines, advance };
  }
  const oom = new Error("OOM command not allowed when used memory > 'maxmemory'.");
  const readonly = new Error("READONLY You can't write against a read only replica.");

  it('a refusal is logged once however many calls it refuses, and its end once', () => {
    const { refusals, lines } = build();
    for (let i = 0; i < 50; i++) expect(refusals.seen(oom)?.readable).toBe(true);
    expect(refusals.seen(new Error('Command timed out'))).toBeUndefined();
    expect(refusals.refusing).toBe(true);
    refusals.accepted();
    refusals.accepted();
    expect(refusals.refusing).toBe(false);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^warn Redis tier refuses commands: Redis is full: .*Redis said: OOM command not allowed/);
    expect(lines[1]).toBe('log Redis tier takes writes again');
  });

  it('a store that takes some writes and refuses others: one line each way, then the end once it lasted a minute, with the count', () => {
    const { refusals, lines, advance } = build();
    for (let i = 0; i < 30; i++) {
      refusals.seen(oom);
      advance(100);
      refusals.accepted(); // a write of another kind went through
      expect(refusals.refusing).toBe(i > 0); // the flapping ones are quiet, not over
      advance(100);
    }
    expect(lines).toHaveLength(2); // the first refusal and its end, in full
    advance(60_000);
    expect(lines.at(-1)).toBe('log Redis tier takes writes again (it had refused again 29 more times for the same reason, not logged)');
    expect(refusals.refusing).toBe(false);
    refusals.seen(readonly); // another reason: logged at once
    expect(lines.at(-1)).toMatch(/^warn Redis tier refuses commands: Redis refuses writes: the connection is to a read-only replica/);
    refusals.dispose();
  });

  it("an end counts only the repeats of the refusal logged last, not an earlier reason's", () => {
    const { refusals, lines } = build();
    refusals.seen(oom);
    refusals.accepted();
    refusals.seen(oom); // quiet: counted for OOM
    refusals.seen(readonly); // another reason, logged: its own count starts
    refusals.accepted();
    expect(lines.at(-1)).toBe('log Redis tier takes writes again');
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(2);
  });

  it('the same refusal a minute after its line is logged again, and a pending end is dropped on dispose', () => {
    const { refusals, lines, advance } = build();
    refusals.seen(oom);
    refusals.accepted();
    advance(61_000);
    refusals.seen(oom);
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(2);
    refusals.accepted();
    refusals.seen(oom); // within the minute of its line: quiet
    refusals.accepted();
    refusals.dispose();
    advance(120_000);
    expect(lines.filter((l) => l.includes('takes writes again'))).toHaveLength(2);
  });
});
