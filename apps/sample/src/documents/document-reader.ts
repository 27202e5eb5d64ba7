import { ServiceUnavailableException, UnprocessableEntityException } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface ReadText {
  text: string;
  pages: number;
  title?: string;
  /** How long the reading itself took (PDF.js: measured in the worker, without loading PDF.js or queueing). */
  workMs?: number;
}

const PDF_TIMEOUT_MS = 30_000;
const OCR_TIMEOUT_MS = 60_000;
/** Tesseract processes at once: each is CPU-bound, more would only slow each other and the app down. */
const OCR_CONCURRENCY = 2;

/**
 * PDF.js runs in one long-lived worker thread: parsing is CPU work that would stall every other request
 * on the event loop, PDF.js is loaded once (not per document), and it is an ES module, which a worker
 * imports natively whatever the app is compiled to. Jobs are numbered; answers come back by number.
 */
const PDF_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const loading = import(workerData.module);
parentPort.on('message', async ({ id, bytes }) => {
  try {
    const pdfjs = await loading;
    const started = performance.now();
    const task = pdfjs.getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, disableFontFace: true, verbosity: 0 });
    const doc = await task.promise;
    const pages = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      pages.push(content.items.map((item) => (typeof item.str === 'string' ? item.str + (item.hasEOL ? '\\n' : '') : '')).join(''));
    }
    const meta = await doc.getMetadata().catch(() => ({}));
    await task.destroy();
    parentPort.postMessage({ id, pages, title: meta.info && meta.info.Title, ms: performance.now() - started });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface PdfAnswer {
  id: number;
  pages?: string[];
  title?: string;
  ms?: number;
  error?: string;
}

/** The PDF.js worker: started on first use, restarted after a crash or a job past its time limit. */
class PdfWorker {
  private worker: Worker | undefined;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (text: ReadText) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  read(bytes: Buffer): Promise<ReadText> {
    const worker = this.start();
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      // A job past its limit may be stuck in the parser: the worker is replaced, its other jobs fail.
      const timer = setTimeout(() => this.fail(new UnprocessableEntityException(`reading the PDF took more than ${PDF_TIMEOUT_MS} ms`)), PDF_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, bytes });
    });
  }

  close(): Promise<number> | undefined {
    const worker = this.worker;
    this.worker = undefined;
    return worker?.terminate();
  }

  /** Starts the worker (and its loading of PDF.js) ahead of the first document. */
  start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const module = pathToFileURL(require.resolve('pdfjs-dist/legacy/build/pdf.mjs')).href;
    const worker = new Worker(PDF_WORKER, { eval: true, workerData: { module } });
    worker.unref();
    worker.on('message', (answer: PdfAnswer) => {
      const job = this.pending.get(answer.id);
      if (job === undefined) return;
      this.pending.delete(answer.id);
      clearTimeout(job.timer);
      if (answer.error !== undefined || answer.pages === undefined) job.reject(new UnprocessableEntityException(`the PDF could not be read: ${answer.error ?? 'no pages'}`));
      else job.resolve({ text: answer.pages.join('\n\n').trim(), pages: answer.pages.length, title: answer.title || undefined, workMs: answer.ms });
    });
    worker.on('error', (error) => this.fail(new UnprocessableEntityException(`the PDF reader failed: ${error.message}`)));
    worker.on('exit', () => {
      if (this.worker === worker) this.fail(new UnprocessableEntityException('the PDF reader stopped'));
    });
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    void this.close();
    for (const [id, job] of this.pending) {
      clearTimeout(job.timer);
      job.reject(error);
      this.pending.delete(id);
    }
  }
}

/**
 * The real work behind the document routes: text out of PDFs (Mozilla's PDF.js) and out of images
 * (the Tesseract OCR engine, when installed: Debian `tesseract-ocr` + `tesseract-ocr-eng`).
 * `TESSERACT_PATH` names the binary (default `tesseract` on PATH).
 */
export class DocumentReader {
  private readonly tesseract: string;
  private readonly pdf = new PdfWorker();
  private ocrAvailable: Promise<boolean> | undefined;
  private ocrRunning = 0;
  private readonly ocrQueue: Array<() => void> = [];

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.tesseract = env.TESSERACT_PATH || 'tesseract';
  }

  pdfText(bytes: Buffer): Promise<ReadText> {
    return this.pdf.read(bytes);
  }

  /** Starts the PDF worker now, so the first document does not wait for PDF.js to load. */
  warm(): void {
    this.pdf.start();
  }

  /** Stops the PDF worker (the app calls it on shutdown). */
  async close(): Promise<void> {
    await this.pdf.close();
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
    if (this.ocrRunning >= OCR_CONCURRENCY) await new Promise<void>((resolve) => this.ocrQueue.push(resolve));
    this.ocrRunning += 1;
    try {
      const text = await this.run(['stdin', 'stdout', '-l', 'eng'], bytes, OCR_TIMEOUT_MS);
      return { text: text.trim(), pages: 1 };
    } catch (error) {
      throw new UnprocessableEntityException(`the image could not be read: ${(error as Error).message}`);
    } finally {
      this.ocrRunning -= 1;
      this.ocrQueue.shift()?.();
    }
  }

  private run(args: string[], input: Buffer | undefined, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      // One thread per process (OMP_THREAD_LIMIT): the concurrency limit above is the parallelism.
      const child = spawn(this.tesseract, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...process.env, OMP_THREAD_LIMIT: '1' } });
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
