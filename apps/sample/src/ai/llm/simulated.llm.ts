import type { AiResponse, AiStreamChunk } from '@strata/cache/ai';
import { Simulation, hashBytes, prose, tokensOf } from '../../common/simulation';
import { type LlmClient, type LlmRequest, promptText } from './llm.client';

const POSITIVE = /\b(good|great|love|excellent|happy|fast|amazing|best|nice|perfect|recommend)\b/gi;
const NEGATIVE = /\b(bad|terrible|hate|slow|awful|worst|broken|poor|angry|refund|disappointed)\b/gi;

/** A deterministic stand-in for an LLM: the same request always gets the same answer, after a realistic delay. */
export class SimulatedLlm implements LlmClient {
  readonly provider = 'simulated';
  readonly defaultModel = 'sim-gpt-small';

  constructor(private readonly simulation: Simulation) {}

  async complete(request: LlmRequest): Promise<AiResponse<string>> {
    const seed = this.seed(request);
    await this.simulation.work(this.factor(request), seed);
    return this.answer(request, seed);
  }

  async *stream(request: LlmRequest): AsyncGenerator<AiStreamChunk> {
    const seed = this.seed(request);
    const answer = this.answer(request, seed);
    const words = answer.output.split(/(?<= )/);
    // Time to first token ~30% of the call, the rest spread over the words.
    await this.simulation.work(this.factor(request) * 0.3, seed);
    const perWord = (this.simulation.baseLatencyMs * this.factor(request) * 0.7) / Math.max(1, words.length);
    for (let i = 0; i < words.length; i++) {
      if (perWord >= 1) await new Promise((resolve) => setTimeout(resolve, perWord));
      const last = i === words.length - 1;
      yield last ? { text: words[i], usage: answer.usage, finishReason: 'stop' } : { text: words[i] };
    }
  }

  async transcribe(audio: Buffer, hash: string): Promise<AiResponse<string>> {
    await this.simulation.work(2, hash);
    const seconds = Math.max(1, Math.round(audio.length / 16_000));
    const text = prose(`transcript:${hash}`, Math.min(200, 20 + seconds * 2));
    return { output: text, model: 'sim-whisper', usage: { promptTokens: seconds * 10, completionTokens: tokensOf(text) }, confidence: 0.93 };
  }

  private answer(request: LlmRequest, seed: string): AiResponse<string> {
    const text = promptText(request);
    const model = request.model;
    let output: string;
    let confidence = 0.9;
    switch (request.operation) {
      case 'summarize': {
        const first = text.split(/(?<=[.!?])\s/)[0].split(/\s+/).slice(0, 20).join(' ');
        output = `Summary: ${first} ${prose(seed, 25)}`;
        break;
      }
      case 'sentiment': {
        const positive = (text.match(POSITIVE) ?? []).length;
        const negative = (text.match(NEGATIVE) ?? []).length;
        const label = positive > negative ? 'positive' : negative > positive ? 'negative' : 'neutral';
        confidence = Math.min(0.99, 0.6 + 0.1 * Math.abs(positive - negative));
        output = label;
        break;
      }
      case 'extract':
        output = JSON.stringify(extract(text));
        confidence = 0.95;
        break;
      default:
        output = `Answer: ${prose(seed, 30 + (hashBytes(seed)[1] % 30))}`;
    }
    return { output, model, confidence, usage: { promptTokens: tokensOf(text) + tokensOf(request.system ?? ''), completionTokens: tokensOf(output) } };
  }

  private seed(request: LlmRequest): string {
    return `${request.model}|${request.operation}|${request.temperature ?? ''}|${request.system ?? ''}|${promptText(request)}`;
  }

  /** Bigger models and longer prompts take longer. */
  private factor(request: LlmRequest): number {
    const size = request.model.includes('large') || request.model.includes('4o') ? 1.5 : 1;
    return size * (1 + Math.min(2, promptText(request).length / 20_000));
  }
}

/** "Extract the <component> …" followed by a blank line and the document text: what a prompt for extraction looks like here. */
function extract(prompt: string): unknown {
  const component = /extract the (\w+)/i.exec(prompt)?.[1]?.toLowerCase() ?? 'metadata';
  const body = prompt.slice(prompt.indexOf('\n\n') + 2);
  const sentences = body.split(/(?<=[.!?])\s+|\n+/).map((s) => s.trim()).filter(Boolean);
  const pick = (pattern: RegExp) => sentences.filter((s) => pattern.test(s)).slice(0, 10);
  switch (component) {
    case 'features':
      return pick(/\b(feature|supports?|allows?|provides?|includes?|enables?)\b/i);
    case 'requirements':
      return pick(/\b(must|shall|should|required|requires?|needs?)\b/i);
    default:
      return { title: (sentences[0] ?? '').slice(0, 80), words: body.split(/\s+/).filter(Boolean).length, sentences: sentences.length, language: 'en' };
  }
}
