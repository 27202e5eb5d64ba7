import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CacheEvents, CacheService, type CacheStats } from '@strata/cache';
import { TopK } from './top-k';

export interface DashboardData {
  time: number;
  stats: CacheStats;
  topKeys: Array<{ key: string; count: number }>;
  topTags: Array<{ key: string; count: number }>;
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
    return {
      time: Date.now(),
      stats: this.cache.stats(),
      topKeys: this.keys.top(10).map(({ key, count }) => ({ key, count })),
      topTags: this.tags.top(10).map(({ key, count }) => ({ key, count })),
    };
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe) off();
  }
}
