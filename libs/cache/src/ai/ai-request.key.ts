import { InvalidArgumentError } from '../core/errors';
import { stringify } from 'safe-stable-stringify';
import { digest } from '../core/keys';
import type { AiMessage, AiRequest } from './ai.types';
import { normalizePrompt } from './prompt-normalize';

export interface KeySettings {
  defaultProvider: string;
  normalizeCase: boolean;
  ignoreParams: ReadonlySet<string>;
}

/** Everything the cache derives from a request, once. */
export interface RequestFingerprint {
  provider: string;
  model: string;
  operation: string;
  /** The caller key of the answer in the AI cache view. */
  key: string;
  /**
   * What must be equal for two requests to be compared semantically: provider, model, operation, the
   * parameters, the system prompt, every message but the last user message, and that message's `name`.
   */
  scope: string;
  /** The text the semantic cache compares: the prompt, or the last user message. Undefined: exact only. */
  semanticText: string | undefined;
  /** Characters of prompt, system prompt and messages. */
  inputLength: number;
}

// 2: whitespace is kept in code, indentation, quotes and structured text; the last message's name is in the scope.
const KEY_VERSION = 2;

/**
 * The key of a request: a SHA-256 of its canonical form: provider, model, operation, the prompt or
 * messages (normalized only where that cannot change the answer, see `normalizePrompt`) and every
 * answer-changing parameter, with object keys sorted. Non-deterministic fields (`ignoreParams`) are left out.
 */
export function fingerprint(request: AiRequest, settings: KeySettings): RequestFingerprint {
  if (typeof request !== 'object' || request === null) throw new InvalidArgumentError('AI cache: a request must be an object such as { model, prompt }');
  if (typeof request.model !== 'string' || request.model.length === 0) {
    throw new InvalidArgumentError(`AI cache: request.model must name the model, e.g. 'gpt-4o-mini'; got ${String(request.model)}`);
  }
  const hasPrompt = typeof request.prompt === 'string';
  const hasMessages = Array.isArray(request.messages) && request.messages.length > 0;
  if (hasPrompt === hasMessages) {
    throw new InvalidArgumentError('AI cache: a request needs exactly one of prompt (a string) or messages (a non-empty array)');
  }
  const text = (value: string) => normalizePrompt(value, settings.normalizeCase);
  const provider = request.provider ?? settings.defaultProvider;
  const operation = request.operation ?? 'completion';
  const system = request.system === undefined ? undefined : text(request.system);
  const messages = hasMessages ? request.messages!.map((m) => canonicalMessage(m, text)) : undefined;
  const prompt = hasPrompt ? text(request.prompt!) : undefined;
  const params = answerParams(request, settings.ignoreParams);
  const inputLength =
    (request.prompt?.length ?? 0) + (request.system?.length ?? 0) + (request.messages ?? []).reduce((n, m) => n + (m.content?.length ?? 0), 0);

  const head = { v: KEY_VERSION, provider, model: request.model, operation, system, params };
  const hash = digest(stringify({ ...head, prompt, messages }) ?? '');
  // The semantic text is the last user message; everything before it is context that must match.
  let semanticText: string | undefined = prompt;
  let context: unknown[] = [];
  let speaker: string | undefined;
  if (messages !== undefined) {
    const last = messages[messages.length - 1];
    semanticText = last[0] === 'user' ? last[2] : undefined;
    context = messages.slice(0, -1);
    speaker = last[1]; // the same words from another participant of a multi-party chat are another request
  }
  return {
    provider,
    model: request.model,
    operation,
    key: `${provider}/${request.model}/${operation}/${hash}`,
    scope: digest(stringify({ ...head, context, speaker }) ?? ''),
    semanticText,
    inputLength,
  };
}

function canonicalMessage(message: AiMessage, text: (value: string) => string): [string, string, string] {
  if (typeof message !== 'object' || message === null || typeof message.role !== 'string' || typeof message.content !== 'string') {
    throw new InvalidArgumentError('AI cache: each message must be { role, content } with string role and content');
  }
  return [message.role, message.name ?? '', text(message.content)];
}

const NAMED_PARAMS = ['temperature', 'topP', 'maxTokens', 'tools', 'responseFormat', 'stop', 'seed'] as const;

/** The named parameters and `params`, minus the ignored ones and the undefined ones; numbers as numbers. */
function answerParams(request: AiRequest, ignored: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of NAMED_PARAMS) {
    const value = request[name];
    if (value !== undefined && !ignored.has(name)) out[name] = value;
  }
  for (const [name, value] of Object.entries(request.params ?? {})) {
    if (value !== undefined && !ignored.has(name)) out[`params.${name}`] = value;
  }
  return out;
}
