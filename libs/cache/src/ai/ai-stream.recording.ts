import { InvalidArgumentError } from '../core/errors';
import type { AiResponse, AiStreamChunk, AiUsage } from './ai.types';

export type StreamSource = () => AsyncIterable<AiStreamChunk> | Promise<AsyncIterable<AiStreamChunk>>;

/** Why a recording ended without a whole answer. */
export class StreamNotRecordedError extends Error {
  constructor(readonly reason: 'streamFailed' | 'streamAbandoned', options?: { cause?: unknown }) {
    super(reason === 'streamFailed' ? 'the model stream failed before it ended' : 'every reader left before the stream ended', options);
    this.name = 'StreamNotRecordedError';
  }
}

/**
 * One model stream, recorded while it is read, and readable by any number of callers at once: the first
 * caller and those who asked for the same answer while it was still streaming. Each reader has its own
 * position in the recorded chunks; the model is pulled only when the fastest reader needs the next
 * chunk, so a slow reader never holds the others back and the model is never read ahead of everyone.
 *
 * The source is opened on the first read. When the last reader leaves before the end, the source is
 * closed (`return()`), which cancels the model call if the client supports it, and nothing is cached.
 */
export class StreamRecording {
  /** Resolves with the whole answer once the stream ends; rejects with `StreamNotRecordedError` otherwise. */
  readonly result: Promise<AiResponse<string>>;
  private readonly chunks: AiStreamChunk[] = [];
  private iterator: AsyncIterator<AiStreamChunk> | undefined;
  private pulling: Promise<void> | undefined;
  private readers = 0;
  private finished = false;
  private failure: StreamNotRecordedError | undefined;
  private bytes = 0;
  private settle!: { resolve: (response: AiResponse<string>) => void; reject: (error: unknown) => void };

  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: StreamSource,
    /** Past this many bytes of text the answer is still streamed but marked too large to cache. */
    private readonly maxBytes: number,
    /** A recording nobody starts reading within this time is abandoned (the caller dropped the stream). */
    idleMs = 60_000,
  ) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined); // a failed stream is reported to readers; nobody has to await `result`
    if (Number.isFinite(idleMs)) {
      this.idle = setTimeout(() => this.readers === 0 && this.abandon(), idleMs);
      this.idle.unref();
    }
  }

  /** True when the recorded text went over `maxBytes`. */
  get tooLarge(): boolean {
    return this.bytes > this.maxBytes;
  }

  /** A reader from the first chunk. */
  read(): AsyncIterable<AiStreamChunk> {
    return { [Symbol.asyncIterator]: () => this.reader() };
  }

  private reader(): AsyncIterator<AiStreamChunk> {
    let position = 0;
    let attached = false;
    let left = false;
    const attach = () => {
      attached = true;
      this.readers += 1;
      if (this.idle) clearTimeout(this.idle);
    };
    const leave = () => {
      if (left || !attached) return;
      left = true;
      this.readers -= 1;
      if (this.readers === 0 && !this.finished) this.abandon();
    };
    return {
      next: async (): Promise<IteratorResult<AiStreamChunk>> => {
        if (!attached) attach();
        for (;;) {
          if (position < this.chunks.length) return { value: this.chunks[position++], done: false };
          if (this.failure) {
            leave();
            throw this.failure.reason === 'streamFailed' && this.failure.cause !== undefined ? this.failure.cause : this.failure;
          }
          if (this.finished) {
            leave();
            return { value: undefined, done: true };
          }
          await this.pull();
        }
      },
      return: async (): Promise<IteratorResult<AiStreamChunk>> => {
        // A reader that leaves before its first read still counts: it may have been the only one.
        if (!attached) attach();
        leave();
        return { value: undefined, done: true };
      },
    };
  }

  private pull(): Promise<void> {
    this.pulling ??= this.pullOne().finally(() => (this.pulling = undefined));
    return this.pulling;
  }

  private async pullOne(): Promise<void> {
    try {
      if (this.iterator === undefined) this.iterator = (await this.source())[Symbol.asyncIterator]();
      const step = await this.iterator.next();
      if (this.failure) return; // abandoned while waiting
      if (step.done) {
        if (this.idle) clearTimeout(this.idle);
        this.finished = true;
        this.settle.resolve(this.assemble());
        return;
      }
      const chunk = step.value;
      if (typeof chunk !== 'object' || chunk === null || typeof chunk.text !== 'string') {
        throw new InvalidArgumentError('AI cache: a stream must yield chunks { text, usage?, finishReason? }');
      }
      this.bytes += Buffer.byteLength(chunk.text);
      this.chunks.push(chunk);
    } catch (error) {
      this.fail(new StreamNotRecordedError('streamFailed', { cause: error }));
    }
  }

  private abandon(): void {
    this.fail(new StreamNotRecordedError('streamAbandoned'));
    const iterator = this.iterator;
    if (iterator?.return) Promise.resolve(iterator.return()).catch(() => undefined);
  }

  private fail(error: StreamNotRecordedError): void {
    if (this.idle) clearTimeout(this.idle);
    if (this.finished || this.failure) return;
    this.failure = error;
    this.settle.reject(error);
  }

  private assemble(): AiResponse<string> {
    let usage: AiUsage | undefined;
    let finishReason: string | undefined;
    for (const chunk of this.chunks) {
      if (chunk.usage) usage = chunk.usage;
      if (chunk.finishReason) finishReason = chunk.finishReason;
    }
    return { output: this.chunks.map((c) => c.text).join(''), usage, finishReason };
  }

  /** The chunks' texts, to store next to the answer so that a hit replays the same pieces. */
  get recordedTexts(): string[] {
    return this.chunks.map((c) => c.text);
  }
}

/** A cached answer as a stream: the recorded pieces when there are some, else the whole text at once. */
export async function* replay(response: AiResponse<unknown>, pieces: readonly string[] | undefined): AsyncGenerator<AiStreamChunk> {
  const texts = pieces && pieces.length > 0 ? pieces : [typeof response.output === 'string' ? response.output : JSON.stringify(response.output)];
  for (let i = 0; i < texts.length; i++) {
    const last = i === texts.length - 1;
    yield last ? { text: texts[i], usage: response.usage, finishReason: response.finishReason } : { text: texts[i] };
  }
}

/** Reads a stream to its end: the whole answer (for a background refresh of a streamed answer). */
export async function collect(call: StreamSource): Promise<AiResponse<string>> {
  const recording = new StreamRecording(call, Number.POSITIVE_INFINITY);
  for await (const chunk of recording.read()) void chunk;
  return recording.result;
}

/** A replay of an answer that is still being computed. */
export async function* replayLater(response: Promise<AiResponse<string>>): AsyncGenerator<AiStreamChunk> {
  yield* replay(await response, undefined);
}
