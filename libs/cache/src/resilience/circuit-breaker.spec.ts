import { L2UnavailableError } from '../core/errors';
import { CircuitBreaker, type BreakerState } from './circuit-breaker';

describe('CircuitBreaker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function build(probe: () => Promise<unknown>, beforeClose?: () => Promise<void>) {
    const changes: BreakerState[] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      probeInterval: 500,
      probe,
      beforeClose,
      onStateChange: (state) => changes.push(state),
    });
    return { breaker, changes };
  }
  const fail = () => Promise.reject(new Error('Command timed out'));

  it('opens after consecutive failures and then fails fast without calling the operation', async () => {
    const { breaker, changes } = build(() => Promise.resolve('PONG'));
    for (let i = 0; i < 3; i++) await expect(breaker.run(fail)).rejects.toThrow('Command timed out');
    expect(breaker.state).toBe('open');
    const op = jest.fn(() => Promise.resolve(1));
    await expect(breaker.run(op)).rejects.toBeInstanceOf(L2UnavailableError);
    expect(op).not.toHaveBeenCalled();
    expect(changes).toEqual(['open']);
    breaker.dispose();
  });

  describe('refusals (the remote answered, saying no)', () => {
    const refused = () => Promise.reject(new Error('OOM command not allowed'));
    const build2 = (probe: () => Promise<unknown>) =>
      new CircuitBreaker({ failureThreshold: 3, probeInterval: 500, probe, answered: (error) => error instanceof Error && error.message.startsWith('OOM') });

    it('are not counted toward opening', async () => {
      const breaker = build2(() => Promise.resolve());
      for (let i = 0; i < 5; i++) await expect(breaker.run(refused)).rejects.toThrow('OOM');
      expect(breaker.state).toBe('closed');
      for (let i = 0; i < 3; i++) await expect(breaker.run(fail)).rejects.toThrow('Command timed out');
      expect(breaker.state).toBe('open');
      breaker.dispose();
    });

    it('a refused probe closes the circuit: the remote is up', async () => {
      const breaker = build2(refused);
      breaker.trip('connection closed');
      expect(await breaker.probeNow()).toBe(true);
      breaker.dispose();
    });
  });

  it('a success resets the failure count', async () => {
    const { breaker } = build(() => Promise.resolve());
    await expect(breaker.run(fail)).rejects.toThrow();
    await expect(breaker.run(fail)).rejects.toThrow();
    await breaker.run(() => Promise.resolve(1));
    await expect(breaker.run(fail)).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    breaker.dispose();
  });

  it('probes every interval while open, runs beforeClose, then closes', async () => {
    let up = false;
    const probe = jest.fn(() => (up ? Promise.resolve('PONG') : Promise.reject(new Error('ECONNREFUSED'))));
    const beforeClose = jest.fn(() => Promise.resolve());
    const { breaker, changes } = build(probe, beforeClose);
    breaker.trip('connection closed');
    await jest.advanceTimersByTimeAsync(500);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('open');
    up = true;
    await jest.advanceTimersByTimeAsync(500);
    expect(probe).toHaveBeenCalledTimes(2);
    expect(beforeClose).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['open', 'closed']);
    breaker.dispose();
  });

  it('stays open when beforeClose fails', async () => {
    const { breaker } = build(() => Promise.resolve(), () => Promise.reject(new Error('replay failed')));
    breaker.trip('down');
    await jest.advanceTimersByTimeAsync(500);
    expect(breaker.state).toBe('open');
    breaker.dispose();
  });

  it('nudge probes at once', async () => {
    const probe = jest.fn(() => Promise.resolve());
    const { breaker } = build(probe);
    breaker.trip('down');
    breaker.nudge();
    await jest.advanceTimersByTimeAsync(0);
    expect(breaker.state).toBe('closed');
    breaker.dispose();
  });
});
