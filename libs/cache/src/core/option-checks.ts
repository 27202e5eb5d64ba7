import { describe } from './durations';
import { InvalidOptionError } from './errors';

export function fraction(value: unknown, option: string, example: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(`${option} must be a number between 0 and 1, e.g. ${example}; got ${describe(value)}`);
  }
  return value;
}

/** An options object with only the keys it knows, or a message that lists them. */
export function group<T extends object>(value: unknown, option: string, known: readonly string[], allowFalse: boolean): T | undefined {
  if (value === undefined || (allowFalse && value === false)) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`${option} must be ${allowFalse ? 'false or ' : ''}an object with ${known.join(', ')}; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidOptionError(`unknown option '${option}.${key}'; ${option} takes ${known.join(', ')}`);
  }
  return value as T;
}

export function threshold(value: number | false | undefined, option: string, fallback: number | false): number | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  return positiveInt(value, option, '1024', true);
}

export function positiveInt(value: unknown, option: string, example: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(`${option} must be a ${allowZero ? 'non-negative' : 'positive'} whole number, e.g. ${example}; got ${describe(value)}`);
  }
  return value;
}

export function bool(value: unknown, option: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${option} must be true or false; got ${describe(value)}`);
  return value;
}

export function name(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(`${option} must be a non-empty string such as 'app'; got ${describe(value)}`);
  }
  return value;
}
