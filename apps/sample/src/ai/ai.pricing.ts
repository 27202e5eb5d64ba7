import type { AiUsage, ModelPrice } from '@strata/cache/ai';

/** Prices per million tokens (USD) of the models the sample knows; the AI cache counts savings with them. */
export const PRICES: Record<string, ModelPrice> = {
  'sim-gpt-small': { input: 0.15, output: 0.6 },
  'sim-gpt-large': { input: 2.5, output: 10 },
  'sim-whisper': { input: 6, output: 0 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'whisper-1': { input: 6, output: 0 },
};

export function costOf(model: string, usage: AiUsage | undefined): number {
  const price = PRICES[model] ?? Object.entries(PRICES).find(([name]) => model.startsWith(name))?.[1];
  if (!price || !usage) return 0;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1_000_000;
}
