import { StrataError } from '../core/errors';
import { argsKey, globLiteral } from '../core/keys';

type Args = readonly unknown[];

/** A value as it appears in a key: strings and numbers as they are, anything else as a stable hash. */
export function keyText(value: unknown): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return argsKey([value]);
}

const PLACEHOLDER = /\{(\d+)((?:\.[A-Za-z_$][\w$]*)*)\}/g;
const HAS_PLACEHOLDER = /\{\d+(?:\.[A-Za-z_$][\w$]*)*\}/;

/**
 * Compiles a key template such as `'{0}:{1.id}'` once, at startup: `{n}` is argument n, `.name` reads a
 * property (a missing one reads as undefined). A string without placeholders is a literal key. A brace
 * that is not part of a placeholder is a mistake and throws, so a typo never becomes a constant key.
 * `literal` turns inserted values into glob literals (for patterns).
 */
export function compileTemplate(template: string, literal = false): (args: Args) => string {
  const parts: Array<string | ((args: Args) => string)> = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    parts.push(reader(Number(match[1]), match[2] === '' ? [] : match[2].slice(1).split('.'), literal));
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  for (const part of parts) {
    if (typeof part === 'string' && /[{}]/.test(part)) {
      throw new StrataError('E_INVALID_DECORATOR', `Strata cache: the key template '${template}' has a brace outside a placeholder; placeholders look like {0} or {1.id}`);
    }
  }
  if (parts.length === 1) {
    const only = parts[0];
    return typeof only === 'string' ? () => only : only;
  }
  return (args) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(args);
    return out;
  };
}

function reader(index: number, path: readonly string[], literal: boolean): (args: Args) => string {
  const text = literal ? (value: unknown) => globLiteral(keyText(value)) : keyText;
  if (path.length === 0) return (args) => text(args[index]);
  return (args) => {
    let value: unknown = args[index];
    for (const property of path) value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[property];
    return text(value);
  };
}

/** True when the string has placeholders (a template) rather than being a literal. */
export function isTemplate(text: string): boolean {
  return HAS_PLACEHOLDER.test(text);
}
