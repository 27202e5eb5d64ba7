import { TopK } from '../apps/sample/src/dashboard/top-k';

describe('TopK (the dashboard top keys, Space-Saving)', () => {
  it('counts exactly while it has room, and ranks by count', () => {
    const top = new TopK(10);
    for (const key of ['a', 'b', 'a', 'c', 'a', 'b']) top.add(key);
    expect(top.top(2)).toEqual([
      { key: 'a', count: 3, error: 0 },
      { key: 'b', count: 2, error: 0 },
    ]);
  });

  it('stays bounded and keeps the heavy hitters of a long tail', () => {
    const top = new TopK(20);
    for (let i = 0; i < 10_000; i++) {
      top.add(i % 3 === 0 ? 'hot' : i % 5 === 0 ? 'warm' : `cold-${i}`);
    }
    expect(top.size).toBe(20);
    const [first, second] = top.top(2);
    expect(first.key).toBe('hot');
    expect(second.key).toBe('warm');
    // Never under-estimated, over-estimated by at most the count it inherited.
    expect(first.count).toBeGreaterThanOrEqual(3334);
    expect(first.count - first.error).toBeLessThanOrEqual(3334);
  });
});
