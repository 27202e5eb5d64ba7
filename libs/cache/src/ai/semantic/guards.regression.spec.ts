import fc from 'fast-check';
import { guardConflict } from './guards';
import { signatureOf } from './prompt-signature';
import { canonical } from './prompt-text';

const conflict = (a: string, b: string) => guardConflict(signatureOf(a), signatureOf(b));

/** The defects of issue 15: every pair below matched (a wrong answer served) before it was fixed. */
describe('semantic guards keep what changes the answer', () => {
  it.each([
    ['currency', 'How much is $100 in euros?', 'How much is £100 in euros?'],
    ['sign', 'What is -3 squared?', 'What is 3 squared?'],
    ['language with a symbol', 'How do I read a file in C#?', 'How do I read a file in C++?'],
    ['logical operator', 'What does `make && make install` do?', 'What does `make || make install` do?'],
    ['logical operator in prose', 'In bash, what does a && b do?', 'In bash, what does a || b do?'],
    ['power and product', 'Why is x*2 wrong here?', 'Why is x**2 wrong here?'],
    ['emoji', 'My boss replied 👍 to my email. What does it mean?', 'My boss replied 👎 to my email. What does it mean?'],
    ['tense', 'Who was the president of France?', 'Who is the president of France?'],
    ['future', 'What will happen to the economy?', 'What happened to the economy?'],
    ['modality', 'Can I drink coffee while pregnant?', 'Should I drink coffee while pregnant?'],
    ['obligation', 'Do I have to pay VAT on this?', 'Can I pay VAT on this?'],
    ['by / about', 'Recommend a book by Stephen King', 'Recommend a book about Stephen King'],
    ['for / about', 'Write a song for children', 'Write a song about children'],
    ['like / need', 'I would like a new laptop', 'I need a new laptop'],
    ['quit / get', 'How do I quit the app?', 'How do I get the app?'],
    ['negation scope', 'List fruits that are red but not sweet', 'List fruits that are not red but sweet'],
    ['negation moved', 'Is it safe not to vaccinate a dog?', 'Is it not safe to vaccinate a dog?'],
    ['indentation', 'What does this print?\n```python\nfor i in range(3):\n    x = i\n    print(x)\n```', 'What does this print?\n```python\nfor i in range(3):\n    x = i\nprint(x)\n```'],
    ['YAML nesting', 'Is this valid?\nserver:\n  port: 80\n  host: a', 'Is this valid?\nserver:\n  port: 80\nhost: a'],
    ['units by case', 'My internet is 100 Mbps, how long for 4 GB?', 'My internet is 100 MBps, how long for 4 GB?'],

    ['degrees', 'Convert 30°C to Fahrenheit', 'Convert 30°F to Fahrenheit'],
  ])('%s: %j never matches %j', (_kind, a, b) => expect(conflict(a, b)).toBeDefined());

  it('does not stem "quite" into "quit"', () => {
    expect(canonical('quite')).not.toBe(canonical('quit'));
  });

  it.each([
    ['politeness', 'Hi! Could you please tell me how long to roast a chicken? Thanks!', 'How long to roast a chicken?'],
    ['politeness', 'Sorry to bother you, but how do I unclog a sink?', 'How do I unclog a sink?'],
    ['typo', 'How do I recieve a parcel?', 'How do I receive a parcel?'],
    ['typo', 'What is the diffrence between a lake and a pond?', 'What is the difference between a lake and a pond?'],
    ['synonym (WordNet)', 'Is it hard to learn chess?', 'Is it difficult to learn chess?'],
    ['negation, inverted', "Why doesn't my code compile?", 'Why does my code not compile?'],
    ['wh-question', 'How can I export my data?', 'How do I export my data?'],
    ['a name typed in lower case', 'How do I install Docker on macOS?', 'how do i install docker on macos'],
  ])('%s: %j matches %j', (_kind, a, b) => expect(conflict(a, b)).toBeUndefined());

  it('reads an unknown word as a known one only when the other prompt has that word', () => {
    // "redis" is no typo of "red", even though "reds" is one edit away and a form of "red".
    expect(conflict('what is redis', 'what is red')).toBeDefined();
    expect(conflict('what is redis', 'what is redis')).toBeUndefined();
  });
});

describe('semantic guards, properties', () => {
  it('two prompts whose code blocks differ never match', () => {
    const codeChar = fc.constantFrom(...' \tabcxyz0123456789()[]{}:=+-*/<>&|!#$%^"\'.,;\n'.split(''));
    const code = fc.string({ unit: codeChar, minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(fc.constantFrom('Fix this', 'What does this print?', 'Explain the code below'), code, code, (intro, x, y) => {
        const a = `${intro}\n\`\`\`\n${x}\n\`\`\``;
        const b = `${intro}\n\`\`\`\n${y}\n\`\`\``;
        // Trailing spaces of a line are the only thing the code guard ignores.
        fc.pre(x.split('\n').map((l) => l.trimEnd()).join('\n') !== y.split('\n').map((l) => l.trimEnd()).join('\n'));
        return conflict(a, b) !== undefined;
      }),
    );
  });

  it('two prompts whose symbols, signs or operators differ never match', () => {
    const symbol = fc.constantFrom('$', '£', '€', '¥', '-', '+', '*', '**', '&&', '||', '==', '!=', '>=', '👍', '👎', '°C', '°F');
    const template = fc.constantFrom('Is {}100 a lot for a bike?', 'What does a {} b return in bash?', 'My boss replied {} to my plan', 'Is x {} 2 the same as y?');
    fc.assert(
      fc.property(symbol, symbol, template, (s, t, tpl) => {
        fc.pre(s !== t);
        return conflict(tpl.replace('{}', s), tpl.replace('{}', t)) !== undefined;
      }),
    );
  });
});
