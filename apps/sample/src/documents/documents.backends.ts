import { Simulation, sha256 } from '../common/simulation';

export interface OcrResult {
  text: string;
  confidence: number;
}

export interface ParsedDocument {
  title: string;
  sections: Array<{ heading: string; paragraphs: number }>;
  words: number;
}

/**
 * Simulated OCR and parsing: deterministic, with the latency of the real thing (OCR 1.5×, parsing 0.5×
 * the base latency). Text content is "recognized" as itself; other bytes as a placeholder per chunk.
 */
export class DocumentBackends {
  ocrCalls = 0;
  parseCalls = 0;

  constructor(private readonly simulation: Simulation) {}

  async ocr(chunk: Buffer, chunkHash: string): Promise<OcrResult> {
    this.ocrCalls += 1;
    await this.simulation.work(1.5, `ocr:${chunkHash}`);
    const text = chunk.toString('utf8');
    const printable = text.replace(/[^\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]/g, '').length / Math.max(1, text.length);
    if (printable > 0.95) return { text, confidence: 0.98 };
    return { text: `[binary content ${chunkHash.slice(0, 12)}, ${chunk.length} bytes]`, confidence: 0.4 };
  }

  async parse(text: string, documentId: string): Promise<ParsedDocument> {
    this.parseCalls += 1;
    await this.simulation.work(0.5, `parse:${documentId}`);
    const lines = text.split(/\n/);
    const sections: ParsedDocument['sections'] = [];
    let current = { heading: '(preamble)', paragraphs: 0 };
    let inParagraph = false;
    for (const line of lines) {
      const heading = /^#{1,6}\s+(.+)$/.exec(line) ?? /^([A-Z][A-Z0-9 ,'-]{3,})$/.exec(line.trim());
      if (heading) {
        if (current.paragraphs > 0 || current.heading !== '(preamble)') sections.push(current);
        current = { heading: heading[1].trim(), paragraphs: 0 };
        inParagraph = false;
      } else if (line.trim() === '') {
        inParagraph = false;
      } else if (!inParagraph) {
        current.paragraphs += 1;
        inParagraph = true;
      }
    }
    sections.push(current);
    const title = lines.find((l) => l.trim().length > 0)?.replace(/^#+\s*/, '').trim().slice(0, 120) ?? '';
    return { title, sections, words: text.split(/\s+/).filter(Boolean).length };
  }
}

export function chunksOf(bytes: Buffer, size: number): Array<{ bytes: Buffer; hash: string }> {
  const chunks: Array<{ bytes: Buffer; hash: string }> = [];
  for (let offset = 0; offset < bytes.length || offset === 0; offset += size) {
    const piece = bytes.subarray(offset, offset + size);
    chunks.push({ bytes: piece, hash: sha256(piece) });
    if (bytes.length === 0) break;
  }
  return chunks;
}
