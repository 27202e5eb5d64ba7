import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  it('runs the work once for 1000 concurrent callers and hands everyone the result', async () => {
    const flights = new SingleFlight();
    let runs = 0;
    let release!: (v: string) => void;
    const work = () => {
      runs += 1;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const callers = Array.from({ length: 1000 }, () => flights.run('k', work));
    release('value');
    expect(await Promise.all(callers)).toEqual(Array(1000).fill('value'));
    expect(runs).toBe(1);
    expect(flights.size).toBe(0);
  });

  it('hands a failure to every waiter and forgets it', async () => {
    const flights = new SingleFlight();
    const boom = new Error('boom');
    const callers = Array.from({ length: 50 }, () => flights.run('k', () => Promise.reject(boom)));
    const results = await Promise.allSettled(callers);
    expect(results.every((r) => r.status === 'rejected' && r.reason === boom)).toBe(true);
    await expect(flights.run('k', () => Promise.resolve(2))).resolves.toBe(2);
  });
});
