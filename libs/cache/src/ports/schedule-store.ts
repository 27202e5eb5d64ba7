/**
 * Where scheduled invalidations (`expireAt`) wait until their time, shared by every instance so they
 * survive restarts: members (opaque text) scored by their time. Adapters: Redis (a sorted set), memory.
 * Every method may reject when the store cannot answer.
 */
export interface ScheduleStore {
  /** Adds `member` due at `when` (epoch ms); adding the same member again moves it. */
  add(member: string, when: number): Promise<void>;
  /** Up to `limit` members due at or before `now`, earliest first, with their times; they stay until `remove`. */
  due(now: number, limit: number): Promise<Array<readonly [member: string, when: number]>>;
  /** Removes `member` (once applied, so an instance dying in between leaves it for the others). */
  remove(member: string): Promise<void>;
}

export const ScheduleStore = Symbol('ScheduleStore');
