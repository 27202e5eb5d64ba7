/**
 * One promise per key in this process: concurrent callers of a missing key share one run. The entry is
 * removed when the run settles, so a failure is handed to every waiter at once and never remembered.
 */
export class SingleFlight {
  private readonly flights = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running !== undefined) return running as Promise<T>;
    const flight = work().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }

  /** Resolves once every run in flight now has settled (whatever the outcome). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.flights.values()]);
  }

  has(key: string): boolean {
    return this.flights.has(key);
  }

  get size(): number {
    return this.flights.size;
  }
}
