import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CacheEvents, CacheService, type CacheStats } from '@strata/cache';
import { DocumentSavings, type WorkKind, type WorkSavings } from '../documents/documents.savings';
import { TopK } from './top-k';

export interface DashboardData {
  time: number;
  stats: CacheStats;
  topKeys: Array<{ key: string; count: number }>;
  topTags: Array<{ key: string; count: number }>;
  /** The tiers this instance runs with (L3 once the library has one and the app configures it). */
  tiers: string[];
  /** Real document work (PDF.js, Tesseract) and what the cache saved of it. */
  documents: Record<WorkKind, WorkSavings>;
}

/** Feeds the dashboard: the cache's stats, plus the keys and tags used most (bounded top-k from the cache's events). */
@Injectable()
export class DashboardService implements OnModuleDestroy {
  private readonly keys = new TopK(200);
  private readonly tags = new TopK(200);
  private readonly unsubscribe: Array<() => void>;

  constructor(
    events: CacheEvents,
    private readonly cache: CacheService,
    private readonly documents: DocumentSavings,
  ) {
    this.unsubscribe = [
      events.on('hit', ({ key }) => this.keys.add(key)),
      events.on('miss', ({ key }) => this.keys.add(key)),
      events.on('set', ({ tags }) => {
        for (const tag of tags) this.tags.add(tag);
      }),
      events.on('invalidate', ({ ids }) => {
        for (const id of ids) this.tags.add(id);
      }),
    ];
  }

  data(): DashboardData {
    const stats = this.cache.stats();
    return {
      time: Date.now(),
      stats,
      tiers: tiersOf(stats),
      documents: this.documents.snapshot(),
      topKeys: this.keys.top(10).map(({ key, count }) => ({ key, count })),
      topTags: this.tags.top(10).map(({ key, count }) => ({ key, count })),
    };
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe) off();
  }
}

/** The tiers in use: L1 unless memory is off, L2 unless Redis is not configured, L3 when the stats report one. */
function tiersOf(stats: CacheStats): string[] {
  const tiers: string[] = [];
  if (stats.l1.maxEntries > 0 || stats.l1.maxBytes > 0) tiers.push('L1');
  if (stats.l2.state !== 'disabled') tiers.push('L2');
  // The cold tier (PostgreSQL) is being added to the library; its stats will appear as `l3`.
  const l3 = (stats as CacheStats & { l3?: { state?: string } }).l3;
  if (l3 !== undefined && l3.state !== 'disabled') tiers.push('L3');
  return tiers;
}
