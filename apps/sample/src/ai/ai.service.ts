import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { type AiCacheStatus, type AiMessage, type AiRequest, AiResponseCache, type AiStreamResult } from '@strata/cache/ai';
import { sha256 } from '../common/simulation';
import { costOf } from './ai.pricing';
import { LLM_CLIENT, type LlmClient, type LlmRequest } from './llm/llm.client';

export interface CompleteBody {
  prompt?: unknown;
  messages?: unknown;
  model?: unknown;
  temperature?: unknown;
  operation?: unknown;
  system?: unknown;
  maxTokens?: unknown;
}

export interface CompletionPayload {
  text: string;
  model: string;
  usage: { promptTokens: number; completionTokens: number };
  /** What this request cost (0 when served from the cache). */
  cost: number;
  cache: { status: AiCacheStatus; similarity?: number; matchedPrompt?: string; saved?: number; ageMs?: number };
}

const OPERATIONS = new Set(['completion', 'chat', 'qa', 'summarize', 'sentiment', 'classify', 'translate']);

/** The AI routes' logic: validate, look up (exact, then semantic), call the model on a miss. */
@Injectable()
export class AiService {
  constructor(
    private readonly ai: AiResponseCache,
    @Inject(LLM_CLIENT) private readonly llm: LlmClient,
  ) {}

  async complete(tenant: string, body: CompleteBody): Promise<CompletionPayload> {
    const { request, call } = this.parse(body);
    const result = await this.ai.forTenant(tenant).getOrCall(request, () => this.llm.complete(call));
    const response = result.response;
    const usage = response.usage ?? { promptTokens: 0, completionTokens: 0 };
    const model = response.model ?? call.model;
    return {
      text: response.output,
      model,
      usage,
      cost: result.status === 'miss' ? costOf(model, usage) : 0,
      cache: { status: result.status, similarity: result.similarity, matchedPrompt: result.matchedPrompt, saved: result.saved?.cost, ageMs: result.age },
    };
  }

  async stream(tenant: string, body: CompleteBody): Promise<AiStreamResult & { model: string }> {
    const { request, call } = this.parse(body);
    const result = await this.ai.forTenant(tenant).stream(request, () => this.llm.stream(call));
    return { ...result, model: call.model };
  }

  /** Transcription, cached by the SHA-256 of the audio: the same recording is transcribed once. */
  async transcribe(tenant: string, audioBase64: unknown): Promise<{ hash: string; text: string; cache: { status: AiCacheStatus }; cost: number }> {
    if (typeof audioBase64 !== 'string' || audioBase64.length === 0) throw new BadRequestException('send { audioBase64: "<base64 audio>" }');
    const audio = Buffer.from(audioBase64, 'base64');
    if (audio.length === 0) throw new BadRequestException('audioBase64 decodes to no bytes');
    const hash = sha256(audio);
    const request: AiRequest = { provider: this.llm.provider, model: 'whisper', operation: 'transcribe', prompt: `sha256:${hash}` };
    const result = await this.ai.forTenant(tenant).getOrCall(request, () => this.llm.transcribe(audio, hash), { semantic: false });
    const model = result.response.model ?? 'whisper';
    return { hash, text: result.response.output, cache: { status: result.status }, cost: result.status === 'miss' ? costOf(model, result.response.usage) : 0 };
  }

  stats() {
    return this.ai.stats();
  }

  private parse(body: CompleteBody): { request: AiRequest; call: LlmRequest } {
    if (typeof body !== 'object' || body === null) throw new BadRequestException('send a JSON body { prompt } or { messages }');
    const hasPrompt = typeof body.prompt === 'string' && body.prompt.trim().length > 0;
    const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : undefined;
    if (hasPrompt === (messages !== undefined)) throw new BadRequestException('send exactly one of prompt (a non-empty string) or messages (an array)');
    if (messages && (messages.length === 0 || !messages.every(isMessage))) {
      throw new BadRequestException('messages must be a non-empty array of { role, content } with string values');
    }
    const model = body.model === undefined ? this.llm.defaultModel : body.model;
    if (typeof model !== 'string' || model.length === 0 || model.length > 100) throw new BadRequestException('model must be a string');
    const temperature = body.temperature;
    if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 2)) {
      throw new BadRequestException('temperature must be a number from 0 to 2');
    }
    const operation = body.operation ?? 'completion';
    if (typeof operation !== 'string' || !OPERATIONS.has(operation)) throw new BadRequestException(`operation must be one of ${[...OPERATIONS].join(', ')}`);
    const system = body.system;
    if (system !== undefined && typeof system !== 'string') throw new BadRequestException('system must be a string');
    const maxTokens = body.maxTokens;
    if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens <= 0)) {
      throw new BadRequestException('maxTokens must be a positive whole number');
    }
    const call: LlmRequest = {
      model,
      operation,
      prompt: hasPrompt ? (body.prompt as string) : undefined,
      messages: messages as AiMessage[] | undefined,
      temperature: temperature as number | undefined,
      system: system as string | undefined,
      maxTokens: maxTokens as number | undefined,
    };
    const request: AiRequest = { provider: this.llm.provider, ...call };
    return { request, call };
  }
}

function isMessage(value: unknown): value is AiMessage {
  return typeof value === 'object' && value !== null && typeof (value as AiMessage).role === 'string' && typeof (value as AiMessage).content === 'string';
}
