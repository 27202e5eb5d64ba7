import ms from 'ms';
import { InvalidOptionError } from './errors';

/** A duration in milliseconds (`60_000`) or a string such as `'500ms'`, `'5m'`, `'1h'`, `'30d'`. */
export type Duration = number | `${number}` | `${number}${DurationUnit}` | `${number} ${DurationUnit}`;
type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'y';

/**
 * Turns a duration into milliseconds, or throws an `InvalidOptionError` that names the option and shows
 * a correct value. Seconds are never assumed: a bare number is milliseconds.
 */
export function toMs(value: unknown, option: string, { allowZero = false } = {}): number {
  let parsed: number | undefined;
  if (typeof value === 'number') {
    parsed = value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    // `ms` returns undefined for strings it cannot read; a bare numeric string is milliseconds.
    parsed = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : (ms(value as ms.StringValue) as number | undefined);
  }
  const ok = parsed !== undefined && Number.isFinite(parsed) && (allowZero ? parsed >= 0 : parsed > 0);
  if (!ok) {
    const what = allowZero ? 'a duration of zero or more' : 'a positive duration';
    throw new InvalidOptionError(
      `${option} must be ${what}, e.g. 60_000 or '1m' (milliseconds or a string like '500ms', '10s', '5m', '1h', '30d'); got ${describe(value)}`,
    );
  }
  return Math.round(parsed as number);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A pause that does not keep the process alive (between batches of a walk, before a retry). */
export function delay(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
