/**
 * For specs of what a tier logs over time (with jest's fake timers on): a logger that records its lines
 * as `log …` / `warn …`, a clock to inject, and `advance(ms)`, which moves the clock and the timers together.
 */
export function recordedLog(): { logger: { log(m: string): void; warn(m: string): void; error(): void }; lines: string[]; now: () => number; advance(ms: number): void } {
  const lines: string[] = [];
  let clock = 0;
  return {
    logger: { log: (m) => void lines.push(`log ${m}`), warn: (m) => void lines.push(`warn ${m}`), error: () => undefined },
    lines,
    now: () => clock,
    advance: (ms) => {
      clock += ms;
      jest.advanceTimersByTime(ms);
    },
  };
}
