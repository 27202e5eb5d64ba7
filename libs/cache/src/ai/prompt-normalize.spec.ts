import fc from 'fast-check';
import { fingerprint } from './ai-request.key';
import { normalizePrompt } from './prompt-normalize';

const settings = (normalizeCase = false) => ({ defaultProvider: 'openai', normalizeCase, ignoreParams: new Set<string>() });
const keyOf = (prompt: string, normalizeCase = false) => fingerprint({ model: 'm', prompt }, settings(normalizeCase)).key;

describe('exact keys', () => {
  // Each of these shared one key (status `exact`, even with the semantic cache off) before issue 15.
  it.each([
    ['Python indentation', 'What does this print?\n```python\nfor i in range(3):\n    x = i\n    print(x)\n```', 'What does this print?\n```python\nfor i in range(3):\n    x = i\nprint(x)\n```'],
    ['YAML nesting', 'Is this valid?\nserver:\n  port: 80\n  host: a', 'Is this valid?\nserver:\n  port: 80\nhost: a'],
    ['a Makefile tab', 'Fix this Makefile:\nbuild:\n\tgo build', 'Fix this Makefile:\nbuild:\n    go build'],
    ['spaces in a quoted string', 'Proofread "the  cat"', 'Proofread "the cat"'],
    ['spaces in inline code', 'What does `a  b` print?', 'What does `a b` print?'],
    ['spaces in a regex', 'Explain ^a  b$', 'Explain ^a b$'],
    ['rows of an unfenced CSV', 'Sum:\na,1\nb,2', 'Sum: a,1 b,2'],
    ['an aligned table', 'Sum the columns:\nAna    3     4', 'Sum the columns:\nAna 3 4'],
  ])('keeps %s apart', (_what, a, b) => {
    expect(keyOf(a)).not.toBe(keyOf(b));
    expect(keyOf(a, true)).not.toBe(keyOf(b, true));
  });

  it('normalizes what cannot change the answer', () => {
    expect(keyOf('What is  the capital of France?  ')).toBe(keyOf('What is the capital of France?'));
    expect(keyOf('What is the\tcapital of France?')).toBe(keyOf('What is the capital of France?'));
    expect(keyOf('\n\nWhat is DNS?\n\n')).toBe(keyOf('What is DNS?'));
    expect(keyOf('What is DNS?\r\nThanks')).toBe(keyOf('What is DNS?\nThanks'));
    expect(keyOf('Café?')).toBe(keyOf('Cafe\u0301?'));
    expect(keyOf('WHAT IS A HASH TABLE', true)).toBe(keyOf('what is a hash table', true));
    expect(keyOf('Who wrote Dune?', true)).toBe(keyOf('who wrote dune?', true));
  });

  it('folds case only where case carries no meaning', () => {
    expect(keyOf('My internet is 100 Mbps', true)).not.toBe(keyOf('My internet is 100 MBps', true));
    expect(keyOf('Is the US ready?', true)).not.toBe(keyOf('Is the us ready?', true));
    expect(keyOf('What does getUser return?', true)).not.toBe(keyOf('What does getuser return?', true));
    expect(keyOf('Translate "Hello"', true)).not.toBe(keyOf('Translate "hello"', true));
  });

  it('puts the name of the last message in the semantic scope', () => {
    const of = (name: string | undefined) =>
      fingerprint({ model: 'm', messages: [{ role: 'user', content: 'What is my balance?', ...(name ? { name } : {}) }] }, settings());
    expect(of('alice').scope).not.toBe(of('bob').scope);
    expect(of(undefined).scope).not.toBe(of('bob').scope);
    expect(of('alice').scope).toBe(of('alice').scope);
  });

  describe('properties', () => {
    const codeChar = fc.constantFrom(...' \tabcxyz0123456789()[]{}:=+-*/<>&|!#$£€%^"\'`.,;\n'.split(''));
    const code = fc.string({ unit: codeChar, minLength: 1, maxLength: 40 });
    const prose = fc.constantFrom('Fix this', 'What does this print?', 'Explain the code below', 'why  does this fail');

    it('two prompts whose code blocks differ never share a key', () => {
      fc.assert(
        fc.property(prose, code, code, fc.boolean(), (intro, x, y, fold) => {
          fc.pre(x !== y && !x.includes('```') && !y.includes('```'));
          const a = `${intro}\n\`\`\`\n${x}\n\`\`\``;
          const b = `${intro}\n\`\`\`\n${y}\n\`\`\``;
          return keyOf(a, fold) !== keyOf(b, fold);
        }),
      );
    });

    it('two prompts whose symbols differ never share a key', () => {
      const symbol = fc.constantFrom('$', '£', '€', '¥', '-', '+', '#', '++', '&&', '||', '*', '**', '=', '==', '👍', '👎', '°C', '°F', '%');
      fc.assert(
        fc.property(symbol, symbol, fc.constantFrom('Is {}100 a lot?', 'Write hello world in C{}', 'What does a {} b mean?', 'My boss replied {}'), (s, t, template) => {
          fc.pre(s !== t);
          return keyOf(template.replace('{}', s), true) !== keyOf(template.replace('{}', t), true);
        }),
      );
    });

    it('two prompts whose indentation differs never share a key', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat({ max: 8 }), fc.constantFrom('x = 1', 'print(x)', 'return y', '- a: 2')), { minLength: 1, maxLength: 6 }), fc.nat(), (lines, which) => {
          const a = 'Review:\n' + lines.map(([n, l]) => ' '.repeat(n) + l).join('\n');
          const i = which % lines.length;
          const b = 'Review:\n' + lines.map(([n, l], j) => ' '.repeat(j === i ? n + 1 : n) + l).join('\n');
          return keyOf(a) !== keyOf(b);
        }),
      );
    });

    it('is idempotent, and extra spaces between words of prose never change the key', () => {
      const word = fc.constantFrom('how', 'do', 'I', 'reset', 'my', 'password', 'Paris', 'today', '3', 'well,');
      fc.assert(
        fc.property(fc.array(fc.tuple(word, fc.constantFrom(' ', '  ', '\t', ' \t ')), { minLength: 1, maxLength: 8 }), fc.boolean(), (parts, fold) => {
          const spaced = parts.map(([w, s]) => w + s).join('');
          const single = parts.map(([w]) => w).join(' ');
          const once = normalizePrompt(spaced, fold);
          // One run of spaces per line at most, or it reads as a table and is kept.
          const runs = (spaced.trimEnd().match(/ {2,}|\t/g) ?? []).length;
          return normalizePrompt(once, fold) === once && (runs >= 2 || keyOf(spaced, fold) === keyOf(single, fold));
        }),
      );
    });
  });
});
