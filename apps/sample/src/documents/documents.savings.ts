/** What a cached result of real document work saved: the time its first run took, at every hit. */
export interface WorkSavings {
  /** Runs of the real work (misses). */
  runs: number;
  /** Results served from the cache instead. */
  hits: number;
  /** Milliseconds the runs took. */
  workMs: number;
  /** Milliseconds not spent: the first run's time, summed over the hits. */
  savedMs: number;
  /** Dollars not spent, at {@link OCR_PRICE_PER_PAGE} for OCR pages (PDF text extraction is counted as time only). */
  savedCost: number;
}

/** A cloud OCR service's list price, about $1.50 per 1,000 pages: what an OCR hit would have cost there. */
export const OCR_PRICE_PER_PAGE = 0.0015;

export type WorkKind = 'pdf' | 'ocr';

/** Per-process tallies of the document work and what the cache saved of it (shown on the dashboard). */
export class DocumentSavings {
  private readonly tallies: Record<WorkKind, WorkSavings> = { pdf: empty(), ocr: empty() };

  ran(kind: WorkKind, ms: number): void {
    this.tallies[kind].runs += 1;
    this.tallies[kind].workMs += ms;
  }

  hit(kind: WorkKind, firstRunMs: number, pages: number): void {
    const tally = this.tallies[kind];
    tally.hits += 1;
    tally.savedMs += firstRunMs;
    if (kind === 'ocr') tally.savedCost += pages * OCR_PRICE_PER_PAGE;
  }

  snapshot(): Record<WorkKind, WorkSavings> {
    return { pdf: { ...this.tallies.pdf }, ocr: { ...this.tallies.ocr } };
  }
}

function empty(): WorkSavings {
  return { runs: 0, hits: 0, workMs: 0, savedMs: 0, savedCost: 0 };
}
