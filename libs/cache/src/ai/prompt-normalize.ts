/**
 * The text of a prompt as it goes into an exact key. Two prompts share a key only when they are the same
 * request, so only what cannot change the answer is normalized, and only where that is known:
 *
 * - Unicode is NFC and line endings are `\n` (é typed two ways, CRLF from another OS).
 * - Blank lines before the first line of text and after the last go; a prompt of one line loses its
 *   leading spaces (indentation is relative to other lines: one line has none).
 * - In a line of prose (outside fenced code, not indented, made only of words and sentence punctuation
 *   once its quoted strings and `inline code` are set aside), runs of spaces and tabs become one space
 *   and trailing spaces go. A line with two or more such runs is read as an aligned table and kept.
 * - With `foldCase`, the words of those prose lines go to lower case, except words in mixed case
 *   (`MBps` is not `Mbps`, `iPhone`) and short words in capitals (`US` is not `us`) unless the whole
 *   prompt is typed in capitals.
 *
 * Everything else is kept byte for byte: fenced code blocks, indented lines (Python, YAML, Makefiles),
 * quoted strings, inline code, lines with symbols (JSON, operators, regexes, currencies, emoji), and
 * line breaks themselves (a CSV without a fence is one row per line).
 */
export function normalizePrompt(text: string, foldCase = false): string {
  const lines = text.normalize('NFC').replace(/\r\n?/g, '\n').split('\n');
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  let last = lines.length - 1;
  while (last >= first && lines[last].trim() === '') last--;
  if (first === last) lines[first] = lines[first].trimStart();
  const shouting = foldCase && isShouting(text);
  const out: string[] = [];
  let fence: string | undefined;
  for (let i = first; i <= last; i++) {
    const line = lines[i];
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      out.push(line);
    } else if (marker !== undefined) {
      fence = marker;
      out.push(line);
    } else {
      out.push(proseLine(line, foldCase, shouting) ?? line);
    }
  }
  return out.join('\n');
}

/** Protected spans of a line: inline code, double and curly quotes, single quotes that open and close at word edges. */
const SPAN = /`[^`\n]*`|"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|(?<=^|[\s(:=,[{])'[^'\n]+'(?=$|[\s.,;:!?)\]}])/g;
/** What a line of prose is made of, outside its protected spans. */
const PROSE = /^[\p{L}\p{M}\p{N} \t.,;:!?'’()\-–—…/%&]*$/u;

/** The normalized form of a line of prose, or undefined when the line is not prose (then it is kept as is). */
function proseLine(line: string, foldCase: boolean, shouting: boolean): string | undefined {
  if (/^[ \t]/.test(line)) return undefined; // indentation is content in Python, YAML, Markdown
  const free = line.replace(SPAN, '\u0000');
  if (!PROSE.test(free.replace(/\u0000/g, ''))) return undefined;
  if ((free.trimEnd().match(/ {2,}|\t/g) ?? []).length >= 2) return undefined; // an aligned table
  let result = '';
  let at = 0;
  const edit = (part: string) => {
    const collapsed = part.replace(/[ \t]+/g, ' ');
    return foldCase ? collapsed.replace(/[\p{L}\p{M}]+/gu, (w) => foldWord(w, shouting)) : collapsed;
  };
  for (const span of line.matchAll(SPAN)) {
    result += edit(line.slice(at, span.index)) + span[0];
    at = span.index + span[0].length;
  }
  return (result + edit(line.slice(at))).trimEnd();
}

function foldWord(word: string, shouting: boolean): string {
  const lower = word.toLowerCase();
  if (word === lower || shouting) return lower;
  if (word === word[0] + word.slice(1).toLowerCase()) return lower; // Capitalized
  if (word === word.toUpperCase() && word.length > 5) return lower; // a long word in capitals is emphasis, not an acronym
  return word;
}

function isShouting(text: string): boolean {
  const letters = text.replace(/[^\p{L}]/gu, '');
  return letters.length >= 8 && letters.replace(/[^\p{Lu}]/gu, '').length > 0.6 * letters.length;
}
