import type { Duration } from '../core/durations';
import { toMs } from '../core/durations';
import { group, positiveInt } from '../core/option-checks';
import type { PredictiveWarmingSettings } from './predictive-warmer';

/** Predictive warming: often-read keys with a known factory are refreshed before they expire. */
export interface WarmingOptions {
  /** How often candidates are looked at. Default `'1s'`. */
  interval?: Duration;
  /** The most background refreshes started per interval. Default `10`. */
  maxRefreshes?: number;
  /** Reads since the last fill that make a key a candidate. Default `5`. */
  minReads?: number;
  /** The most keys whose factory is remembered. Default `1000`. */
  maxKeys?: number;
}

/** The keys of `WarmingOptions`, derived from the type so a new option cannot be forgotten here. */
const KNOWN_WARMING = Object.keys({ interval: true, maxRefreshes: true, minReads: true, maxKeys: true } satisfies Record<keyof WarmingOptions, true>);

export function resolveWarming(input: false | WarmingOptions | undefined): false | PredictiveWarmingSettings {
  const warming = group<WarmingOptions>(input, 'warming', KNOWN_WARMING, true);
  if (warming === undefined) return false;
  return {
    interval: toMs(warming.interval ?? '1s', 'warming.interval'),
    maxRefreshes: positiveInt(warming.maxRefreshes ?? 10, 'warming.maxRefreshes', '10'),
    minReads: positiveInt(warming.minReads ?? 5, 'warming.minReads', '5'),
    maxKeys: positiveInt(warming.maxKeys ?? 1000, 'warming.maxKeys', '1000'),
  };
}
