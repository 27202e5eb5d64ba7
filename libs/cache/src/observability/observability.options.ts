import { type Duration, describe, toMs } from '../core/durations';
import { InvalidOptionError } from '../core/errors';
import { fraction, positiveInt } from '../core/option-checks';
import type { AdviceThresholds } from './advice';
import type { MetricsOptions, ResolvedMetrics } from './prometheus';

/** Thresholds of the advice in `stats()` and in the log (see README, Observability). */
export interface AdviceOptions {
  /** How often the log line is considered (once per condition until it clears); `false`: no log line. Default `'1m'`. */
  interval?: Duration | false;
  /** Lookups a window needs before its rates are judged. Default `100`. */
  minLookups?: number;
  /** A cache whose hit rate is below this is flagged. Default `0.5`. */
  hitRate?: number;
  /** L1 fuller than this (entries or bytes, 0..1) is flagged. Default `0.9`. */
  l1Fill?: number;
  /** More L1 evictions per L1 write than this is flagged. Default `0.2`. */
  evictionRate?: number;
  /** Redis reads whose p99 is over this are flagged. Default `'20ms'`. */
  slowL2?: Duration;
  /** Factory runs whose p95 is over this are flagged. Default `'2s'`. */
  slowFactory?: Duration;
}

export interface ResolvedAdvice extends AdviceThresholds {
  intervalMs: number | false;
}

/** The keys of `AdviceOptions`, derived from the type so a new option cannot be forgotten here. */
const KNOWN_ADVICE = new Set<string>(
  Object.keys({ interval: true, minLookups: true, hitRate: true, l1Fill: true, evictionRate: true, slowL2: true, slowFactory: true } satisfies Record<keyof AdviceOptions, true>),
);

/** `ifInstalled`: left at its default, metrics are on only when prom-client is installed (an optional peer). */
export function resolveMetrics(metrics: false | MetricsOptions | undefined): ResolvedMetrics {
  if (metrics === false) return false;
  if (metrics === undefined) return { ifInstalled: true };
  if (typeof metrics !== 'object' || metrics === null) {
    throw new InvalidOptionError(`metrics must be false or { registry?, prefix? }; got ${describe(metrics)}`);
  }
  for (const key of Object.keys(metrics)) {
    if (key !== 'registry' && key !== 'prefix') throw new InvalidOptionError(`unknown option 'metrics.${key}'; metrics takes registry, prefix`);
  }
  if (metrics.registry !== undefined && typeof (metrics.registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    throw new InvalidOptionError(`metrics.registry must be a prom-client Registry (new Registry() from 'prom-client'); got ${describe(metrics.registry)}`);
  }
  return metrics;
}

export function resolveAdvice(advice: false | AdviceOptions | undefined): false | ResolvedAdvice {
  if (advice === false) return false;
  const input = advice ?? {};
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError(`advice must be false or { interval?, hitRate?, l1Fill?, evictionRate?, slowL2?, slowFactory?, minLookups? }; got ${describe(advice)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_ADVICE.has(key)) throw new InvalidOptionError(`unknown option 'advice.${key}'; advice takes ${[...KNOWN_ADVICE].join(', ')}`);
  }
  return {
    intervalMs: input.interval === false ? false : toMs(input.interval ?? '1m', 'advice.interval'),
    minLookups: positiveInt(input.minLookups ?? 100, 'advice.minLookups', '100'),
    hitRate: fraction(input.hitRate ?? 0.5, 'advice.hitRate', '0.5'),
    l1Fill: fraction(input.l1Fill ?? 0.9, 'advice.l1Fill', '0.9'),
    evictionRate: fraction(input.evictionRate ?? 0.2, 'advice.evictionRate', '0.2'),
    slowL2Ms: toMs(input.slowL2 ?? '20ms', 'advice.slowL2'),
    slowFactoryMs: toMs(input.slowFactory ?? '2s', 'advice.slowFactory'),
  };
}
