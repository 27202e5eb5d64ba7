import type { AiMessage, AiResponse, AiStreamChunk } from '@strata/cache/ai';

export interface LlmRequest {
  model: string;
  operation: string;
  prompt?: string;
  messages?: AiMessage[];
  system?: string;
  temperature?: number;
  maxTokens?: number;
}

/** The model behind the AI routes: simulated by default, the real API when OPENAI_API_KEY is set. */
export interface LlmClient {
  readonly provider: string;
  readonly defaultModel: string;
  complete(request: LlmRequest): Promise<AiResponse<string>>;
  stream(request: LlmRequest): AsyncIterable<AiStreamChunk>;
  transcribe(audio: Buffer, hash: string): Promise<AiResponse<string>>;
}

export const LLM_CLIENT = Symbol('LlmClient');

/** The conversation as one text (what the simulated model reads). */
export function promptText(request: LlmRequest): string {
  if (request.prompt !== undefined) return request.prompt;
  return (request.messages ?? []).map((m) => `${m.role}: ${m.content}`).join('\n');
}
