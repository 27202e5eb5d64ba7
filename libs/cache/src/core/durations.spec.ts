import { InvalidOptionError } from './errors';
import { toMs } from './durations';

describe('toMs', () => {
  it.each([
    [60_000, 60_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['30d', 2_592_000_000],
    ['1500', 1500],
    [1.4, 1],
  ])('reads %p as %p ms', (input, expected) => {
    expect(toMs(input, 'ttl')).toBe(expected);
  });

  it.each([-1, 0, NaN, Infinity, '', 'soon', '5 parsecs', null, undefined, {}, '-5m'])(
    'rejects %p with a message that says how to fix it',
    (input) => {
      expect(() => toMs(input, 'ttl')).toThrow(InvalidOptionError);
      expect(() => toMs(input, 'ttl')).toThrow(/ttl must be a positive duration, e\.g\. 60_000 or '1m'/);
    },
  );

  it('accepts zero only where allowed', () => {
    expect(toMs(0, 'grace', { allowZero: true })).toBe(0);
    expect(() => toMs(-1, 'grace', { allowZero: true })).toThrow(/grace must be a duration of zero or more/);
  });
});
