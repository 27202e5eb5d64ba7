import type { SemanticCache, SemanticProbe, SemanticScope } from './semantic/semantic.cache';
import type { AiRegistry } from './ai-cache.registry';

/** An answer `warmUp` stored, with what its semantic vector needs. */
export interface WarmedAnswer {
  readonly text: string | undefined;
  readonly scope: SemanticScope;
  readonly scopeId: string;
  readonly model: string;
  readonly key: string;
  /** Undefined when the answer was not stored. */
  readonly expiresAt: number | undefined;
}

/**
 * The vectors of answers stored by `AiResponseCache.warmUp`: embedded in one batch, then appended one
 * append per scope (and per 500), not one per answer. An embedding failure leaves them cached exactly only.
 */
export async function indexWarmedAnswers(
  semantic: SemanticCache,
  registry: AiRegistry,
  scopesKey: string,
  answers: readonly WarmedAnswer[],
  onEmbedError: (error: unknown) => void,
): Promise<void> {
  const eligible = answers.map((a) => a.text).filter((t): t is string => semantic.accepts(t));
  if (eligible.length === 0) return;
  const probes = new Map<string, SemanticProbe>();
  try {
    for (const probe of await semantic.probeMany(eligible)) probes.set(probe.text, probe);
  } catch (error) {
    onEmbedError(error);
    return;
  }
  const byScope = new Map<string, { scope: SemanticScope; model: string; items: Array<{ probe: SemanticProbe; key: string; expiresAt: number }> }>();
  for (const answer of answers) {
    const probe = answer.text === undefined ? undefined : probes.get(answer.text);
    if (probe === undefined || answer.expiresAt === undefined) continue;
    let group = byScope.get(answer.scopeId);
    if (group === undefined) byScope.set(answer.scopeId, (group = { scope: answer.scope, model: answer.model, items: [] }));
    group.items.push({ probe, key: answer.key, expiresAt: answer.expiresAt });
  }
  for (const { scope, model, items } of byScope.values()) {
    for (let i = 0; i < items.length; i += 500) await semantic.addMany(scope, items.slice(i, i + 500));
    registry.rememberScope(scopesKey, semantic.logKeyOf(scope), model);
  }
}
