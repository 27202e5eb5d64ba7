import { Injectable } from '@nestjs/common';
import { CacheService, InjectCache } from '@strata/cache';
import { createHash } from 'node:crypto';

export interface Report {
  id: string;
  summary: string;
  score: number;
  generatedAt: string;
}

/** Stands in for a slow, costly call (an LLM, OCR, a parser): deterministic per id, 300 ms each. */
@Injectable()
export class ReportsService {
  generated = 0;

  constructor(@InjectCache('reports') private readonly cache: CacheService) {}

  async report(id: string): Promise<{ report: Report; servedFromCache: boolean; ms: number }> {
    const started = performance.now();
    let computed = false;
    const report = await this.cache.getOrSet(
      id,
      async () => {
        computed = true;
        return this.generate(id);
      },
      { tags: [`report:${id}`] },
    );
    return { report, servedFromCache: !computed, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  invalidate(id: string): Promise<void> {
    return this.cache.invalidateTags([`report:${id}`]);
  }

  stats() {
    return { ...this.cache.stats(), generated: this.generated };
  }

  private async generate(id: string): Promise<Report> {
    this.generated += 1;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const digest = createHash('sha256').update(id).digest();
    return {
      id,
      summary: `Report ${id}: ${digest.toString('hex').slice(0, 16)}`,
      score: digest[0] / 255,
      generatedAt: new Date().toISOString(),
    };
  }
}
