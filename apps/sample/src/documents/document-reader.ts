import { ServiceUnavailableException, UnprocessableEntityException } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface ReadText {
  text: string;
  pages: number;
  title?: string;
}

const PDF_TIMEOUT_MS = 30_000;
const OCR_TIMEOUT_MS = 60_000;

/**
 * PDF.js runs in a worker thread: parsing is CPU work that would stall every other request on the event
 * loop, and PDF.js is an ES module, which a worker imports natively whatever the app is compiled to.
 */
const PDF_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const pdfjs = await import(workerData.module);
  const task = pdfjs.getDocument({ data: new Uint8Array(workerData.bytes), isEvalSupported: false, disableFontFace: true, verbosity: 0 });
  const doc = await task.promise;
  const pages = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const content = await (await doc.getPage(n)).getTextContent();
    pages.push(content.items.map((item) => (typeof item.str === 'string' ? item.str + (item.hasEOL ? '\\n' : '') : '')).join(''));
  }
  const meta = await doc.getMetadata().catch(() => ({}));
  parentPort.postMessage({ pages, title: meta.info && meta.info.Title });
  await task.destroy();
})().catch((error) => parentPort.postMessage({ error: String((error && error.message) || error) }));
`;

/**
 * The real work behind the document routes: text out of PDFs (Mozilla's PDF.js) and out of images
 * (the Tesseract OCR engine, when installed: Debian `tesseract-ocr` + `tesseract-ocr-eng`).
 * `TESSERACT_PATH` names the binary (default `tesseract` on PATH).
 */
export class DocumentReader {
  private readonly tesseract: string;
  private ocrAvailable: Promise<boolean> | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.tesseract = env.TESSERACT_PATH || 'tesseract';
  }

  pdfText(bytes: Buffer): Promise<ReadText> {
    const module = pathToFileURL(require.resolve('pdfjs-dist/legacy/build/pdf.mjs')).href;
    return new Promise((resolve, reject) => {
      const worker = new Worker(PDF_WORKER, { eval: true, workerData: { module, bytes } });
      const timer = setTimeout(() => void worker.terminate(), PDF_TIMEOUT_MS);
      worker.once('message', (result: { pages?: string[]; title?: string; error?: string }) => {
        clearTimeout(timer);
        void worker.terminate();
        if (result.error !== undefined || result.pages === undefined) reject(new UnprocessableEntityException(`the PDF could not be read: ${result.error ?? 'no pages'}`));
        else resolve({ text: result.pages.join('\n\n').trim(), pages: result.pages.length, title: result.title || undefined });
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(new UnprocessableEntityException(`the PDF could not be read: ${error.message}`));
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        reject(new UnprocessableEntityException(`reading the PDF took more than ${PDF_TIMEOUT_MS} ms`));
      });
    });
  }

  /** True when Tesseract runs and has English data (checked once). */
  canOcr(): Promise<boolean> {
    this.ocrAvailable ??= this.run(['--list-langs'], undefined, 10_000).then(
      (out) => out.split('\n').some((line) => line.trim() === 'eng'),
      () => false,
    );
    return this.ocrAvailable;
  }

  async ocr(bytes: Buffer): Promise<ReadText> {
    if (!(await this.canOcr())) {
      throw new ServiceUnavailableException('OCR is unavailable: install Tesseract with English data (Debian: apt-get install tesseract-ocr tesseract-ocr-eng) or set TESSERACT_PATH');
    }
    const text = await this.run(['stdin', 'stdout', '-l', 'eng'], bytes, OCR_TIMEOUT_MS).catch((error: Error) => {
      throw new UnprocessableEntityException(`the image could not be read: ${error.message}`);
    });
    return { text: text.trim(), pages: 1 };
  }

  private run(args: string[], input: Buffer | undefined, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.tesseract, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.once('error', reject);
      child.once('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else reject(new Error(Buffer.concat(err).toString('utf8').trim().split('\n').pop() || `tesseract exited with ${String(code)}`));
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }
}
