import { Injectable } from '@nestjs/common';
import { CacheService, CacheTelemetry, InjectCache } from '@strata/cache';
import { createHash } from 'node:crypto';

export interface Report {
  id: string;
  summary: string;
  score: number;
  generatedAt: string;
}

/**
 * What one report would cost if it came from a model: ~1,200 tokens at $3 per million. The sample
 * reports it for every hit, through the hook the AI cache uses, so the dashboard's "money saved" moves.
 */
export const REPORT_TOKENS = 1200;
export const REPORT_COST = 0.0036;

/** Stands in for a slow, costly call (an LLM, OCR, a parser): deterministic per id, 300 ms each. */
@Injectable()
export class ReportsService {
  generated = 0;

  constructor(
    @InjectCache('reports') private readonly cache: CacheService,
    private readonly telemetry: CacheTelemetry,
  ) {}

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
    if (!computed) this.telemetry.recordSavings('reports', { tokens: REPORT_TOKENS, cost: REPORT_COST });
    return { report, servedFromCache: !computed, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  /** A long, model-like text (a few KiB): stored compressed in Redis. */
  async summary(id: string): Promise<{ id: string; text: string }> {
    return this.cache.getOrSet(`summary:${id}`, async () => ({ id, text: await this.write(id) }), { tags: [`report:${id}`] });
  }

  invalidate(id: string): Promise<void> {
    return this.cache.invalidateTags([`report:${id}`]);
  }

  stats() {
    return { ...this.cache.stats(), generated: this.generated };
  }

  private async write(id: string): Promise<string> {
    const report = await this.generate(id);
    const lines = Array.from({ length: 40 }, (_, i) =>
      `${i + 1}. For report ${id}, section ${i % 7} shows the score of ${report.score.toFixed(3)} holding steady against the previous quarter.`,
    );
    return lines.join('\n');
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
