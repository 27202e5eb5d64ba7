import type { AiStreamChunk } from './ai.types';
import { StreamNotRecordedError, StreamRecording, replay } from './ai-stream.recording';

function source(texts: string[], log: string[]) {
  return async function* (): AsyncGenerator<AiStreamChunk> {
    for (const text of texts) {
      log.push(`pull ${text}`);
      yield { text };
    }
  };
}

async function take(iterator: AsyncIterator<AiStreamChunk>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const step = await iterator.next();
    if (step.done) break;
    out.push(step.value.text);
  }
  return out;
}

describe('StreamRecording', () => {
  it('opens the source on the first read and pulls only what the fastest reader needs', async () => {
    const log: string[] = [];
    const recording = new StreamRecording(source(['a', 'b', 'c'], log), 1000);
    expect(log).toEqual([]);
    const fast = recording.read()[Symbol.asyncIterator]();
    const slow = recording.read()[Symbol.asyncIterator]();
    expect(await take(fast, 2)).toEqual(['a', 'b']);
    expect(log).toEqual(['pull a', 'pull b']);
    expect(await take(slow, 1)).toEqual(['a']);
    expect(log).toEqual(['pull a', 'pull b']);
    expect(await take(fast, 5)).toEqual(['c']);
    expect(await take(slow, 5)).toEqual(['b', 'c']);
    await expect(recording.result).resolves.toMatchObject({ output: 'abc' });
    expect(recording.recordedTexts).toEqual(['a', 'b', 'c']);
  });

  it('keeps streaming to a remaining reader when another leaves', async () => {
    const recording = new StreamRecording(source(['a', 'b'], []), 1000);
    const leaving = recording.read()[Symbol.asyncIterator]();
    const staying = recording.read()[Symbol.asyncIterator]();
    await take(leaving, 1);
    await take(staying, 1);
    await leaving.return!();
    expect(await take(staying, 5)).toEqual(['b']);
    await expect(recording.result).resolves.toMatchObject({ output: 'ab' });
  });

  it('is abandoned when its only reader leaves before reading, or when nobody reads it in time', async () => {
    jest.useFakeTimers();
    try {
      const log: string[] = [];
      const dropped = new StreamRecording(source(['a'], log), 100);
      await dropped.read()[Symbol.asyncIterator]().return!();
      await expect(dropped.result).rejects.toMatchObject({ reason: 'streamAbandoned' });
      const ignored = new StreamRecording(source(['a'], log), 100, 1000);
      jest.advanceTimersByTime(999);
      let settled = false;
      ignored.result.catch(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      jest.advanceTimersByTime(1);
      await expect(ignored.result).rejects.toMatchObject({ reason: 'streamAbandoned' });
      expect(log).toEqual([]); // the model was never called
    } finally {
      jest.useRealTimers();
    }
  });

  it('marks an answer over the size limit, and rejects malformed chunks', async () => {
    const big = new StreamRecording(source(['12345', '678'], []), 6);
    for await (const chunk of big.read()) void chunk;
    expect(big.tooLarge).toBe(true);
    const bad = new StreamRecording(async function* () {
      yield 'not a chunk' as unknown as AiStreamChunk;
    }, 100);
    await expect(take(bad.read()[Symbol.asyncIterator](), 1)).rejects.toThrow(/chunks \{ text/);
    await expect(bad.result).rejects.toBeInstanceOf(StreamNotRecordedError);
  });

  it('replays the recorded pieces with the usage on the last one', async () => {
    const chunks: AiStreamChunk[] = [];
    for await (const chunk of replay({ output: 'ab', usage: { promptTokens: 1, completionTokens: 2 } }, ['a', 'b'])) chunks.push(chunk);
    expect(chunks).toEqual([{ text: 'a' }, { text: 'b', usage: { promptTokens: 1, completionTokens: 2 }, finishReason: undefined }]);
    const whole: AiStreamChunk[] = [];
    for await (const chunk of replay({ output: { a: 1 } }, undefined)) whole.push(chunk);
    expect(whole[0].text).toBe('{"a":1}');
  });
});
