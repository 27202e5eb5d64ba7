import type { AiResponse, AiStreamChunk } from '@strata/cache/ai';
import { type LlmClient, type LlmRequest } from './llm.client';

interface ChatReply {
  model?: string;
  choices?: Array<{ message?: { content?: string }; delta?: { content?: string }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** The real OpenAI-compatible API (chat completions, streaming, transcriptions). Used only when OPENAI_API_KEY is set. */
export class OpenAiLlm implements LlmClient {
  readonly provider = 'openai';
  readonly defaultModel: string;
  private readonly baseUrl: string;

  constructor(
    private readonly apiKey: string,
    baseUrl: string | undefined,
    model: string | undefined,
  ) {
    this.baseUrl = (baseUrl || 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.defaultModel = model || 'gpt-4o-mini';
  }

  async complete(request: LlmRequest): Promise<AiResponse<string>> {
    const reply = (await (await this.post('/chat/completions', this.body(request, false))).json()) as ChatReply;
    return {
      output: reply.choices?.[0]?.message?.content ?? '',
      model: reply.model ?? request.model,
      finishReason: reply.choices?.[0]?.finish_reason ?? undefined,
      usage: { promptTokens: reply.usage?.prompt_tokens ?? 0, completionTokens: reply.usage?.completion_tokens ?? 0 },
    };
  }

  async *stream(request: LlmRequest): AsyncGenerator<AiStreamChunk> {
    const response = await this.post('/chat/completions', this.body(request, true));
    if (!response.body) throw new Error('the API sent no stream');
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        const event = JSON.parse(data) as ChatReply;
        const text = event.choices?.[0]?.delta?.content ?? '';
        const usage = event.usage ? { promptTokens: event.usage.prompt_tokens ?? 0, completionTokens: event.usage.completion_tokens ?? 0 } : undefined;
        const finishReason = event.choices?.[0]?.finish_reason ?? undefined;
        if (text || usage || finishReason) yield { text, usage, finishReason };
      }
    }
  }

  async transcribe(audio: Buffer): Promise<AiResponse<string>> {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([audio]), 'audio.wav');
    const response = await fetch(`${this.baseUrl}/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}` },
      body: form,
      signal: AbortSignal.timeout(120_000),
    });
    if (!response.ok) throw new Error(`transcription failed: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    const reply = (await response.json()) as { text?: string };
    return { output: reply.text ?? '', model: 'whisper-1' };
  }

  private body(request: LlmRequest, stream: boolean): Record<string, unknown> {
    const messages = request.messages ?? [{ role: 'user', content: request.prompt ?? '' }];
    return {
      model: request.model,
      messages: request.system ? [{ role: 'system', content: request.system }, ...messages] : messages,
      temperature: request.temperature,
      max_tokens: request.maxTokens,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
  }

  private async post(path: string, body: unknown): Promise<Response> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
    if (!response.ok) throw new Error(`${path} failed: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    return response;
  }
}
