import { BreakerLog } from './breaker-log';
import { recordedLog } from './log-lines.fixture';

describe('BreakerLog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function build() {
    const { logger, lines, now, advance } = recordedLog();
    return { log: new BreakerLog(logger, 500, now), lines, advance };
  }
  const refused = (sha: string) => `ERR unknown command 'EVALSHA', with args beginning with: '${sha}' '2'`;

  it('logs every cycle of an outage, each on its own', () => {
    const { log, lines, advance } = build();
    log.closed();
    log.opened('connection closed');
    log.closed();
    advance(90_000);
    log.opened('Command timed out');
    log.closed();
    expect(lines).toEqual([
      'log Redis tier connected',
      'warn Redis tier unavailable (connection closed): serving from L1 and factories; probing every 500 ms',
      'log Redis tier available again',
      'warn Redis tier unavailable (Command timed out): serving from L1 and factories; probing every 500 ms',
      'log Redis tier available again',
    ]);
  });

  it('a breaker flapping on one cause is logged once, and its recovery once it lasted a minute, with the count', () => {
    const { log, lines, advance } = build();
    log.closed();
    for (let i = 0; i < 20; i++) {
      log.opened(refused(`sha${i}`)); // Redis quotes different arguments each time: the same cause
      expect(log.quiet).toBe(i > 0);
      advance(500);
      log.closed();
      advance(500);
    }
    // The first cycle in full, then nothing while it flaps.
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('available again'))).toEqual(['log Redis tier available again']);
    advance(60_000);
    expect(lines.at(-1)).toBe("log Redis tier available again (it had reopened 19 more times on the same cause, not logged)");
    expect(log.quiet).toBe(false);
    log.opened('connection closed'); // another cause: logged at once
    expect(lines.at(-1)).toMatch(/^warn Redis tier unavailable \(connection closed\)/);
  });

  it('the same cause a minute after its line is logged again', () => {
    const { log, lines, advance } = build();
    log.opened('connection closed');
    log.closed();
    advance(61_000);
    log.opened('connection closed');
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(2);
    log.dispose();
  });
});
