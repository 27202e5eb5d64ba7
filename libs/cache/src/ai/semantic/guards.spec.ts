import { loadPairs } from '../../../../../test/semantic/pair-eval';
import { blockOf, blockingApplies, guardConflict, oneEditApart } from './guards';
import { decodeSignature, encodeSignature, signatureOf } from './prompt-signature';

const conflict = (a: string, b: string, options = {}) => guardConflict(signatureOf(a), signatureOf(b), options);

describe('semantic guards', () => {
  it.each([
    ['How do I reset my password?', 'how can I reset my password'],
    ['In Python, how do I sort a list?', 'How do I sort a list in Python?'],
    ["What's the capital of France?", 'What is the capital of France'],
    ['Please summarize this article', 'Summarize this article'],
    ['How do I repair a bike?', 'How do I fix a bike?'],
    ['Is a big dog expensive?', 'Is a large dog expensive?'],
    ['How to convert a string to an integer', 'How can I convert a string to an integer?'],
    ['Give me three tips', 'give me 3 tips'],
    ['What are the symptoms of the flu?', 'What are flu symptoms?'],
  ])('lets %j match %j', (a, b) => expect(conflict(a, b)).toBeUndefined());

  it.each([
    ['reset my password', 'reset my username', 'substitutions'],
    ['What is 2+2?', 'What is 2+3?', 'numbers'],
    ['What is 1,000 / 8?', 'What is 10,000 / 8?', 'numbers'],
    ['Give me three tips', 'Give me four tips', 'numbers'],
    ['What is 6*7?', 'What is 6+7?', 'operators'],
    ['Is 3 >= 3?', 'Is 3 > 3?', 'operators'],
    ['Why does my code compile?', "Why doesn't my code compile?", 'negation'],
    ['Recipes with meat', 'Recipes without meat', 'negation'],
    ['What is your name?', 'What is my name?', 'person'],
    ["Translate 'hello' into Spanish", "Translate 'goodbye' into Spanish", 'quotes'],
    ['What does getUser do?', 'What does getUsers do?', 'entities'],
    ['Explain settings.json', 'Explain settings.yaml', 'entities'],
    ['Convert Celsius to Fahrenheit', 'Convert Fahrenheit to Celsius', 'relations'],
    ['What should I eat before a run?', 'What should I eat after a run?', 'relations'],
    ['Rename column a to b', 'Rename column b to a', 'relations'],
    ['How do I log in?', 'How do I log out?', 'addedWords'],
    ['Explain recursion', 'Explain tail recursion', 'addedWords'],
    ['Does the dog chase the cat?', 'Does the cat chase the dog?', 'order'],
  ])('keeps %j from matching %j (%s)', (a, b, guard) => expect(conflict(a, b)).toBe(guard));

  it('treats capitals in a shouted prompt as words, not acronyms', () => {
    expect(conflict('WHAT IS A HASH TABLE', 'What is a hash table?')).toBeUndefined();
    expect(conflict('What is AWS Lambda?', 'What is AWS Fargate?')).toBe('entities');
  });

  it('can be relaxed guard by guard', () => {
    expect(conflict('reset my password', 'reset my username', { substitutions: false, maxAddedWords: 2 })).toBeUndefined();
    expect(conflict('Explain recursion', 'Explain tail recursion', { maxAddedWords: 1 })).toBeUndefined();
    expect(conflict('How do I reset my pasword?', 'How do I reset my password?')).toBeUndefined();
    expect(conflict('How do I reset my pasword?', 'How do I reset my password?', { typos: false })).toBe('typos');
  });

  it('measures one edit (Damerau) correctly', () => {
    expect(oneEditApart('password', 'pasword')).toBe(true);
    expect(oneEditApart('explain', 'expalin')).toBe(true);
    expect(oneEditApart('capital', 'capitol')).toBe(true);
    expect(oneEditApart('install', 'uninstall')).toBe(false);
    expect(oneEditApart('abcd', 'abdc')).toBe(true);
    expect(oneEditApart('abcd', 'acbe')).toBe(false);
  });

  it('encodes signatures losslessly', () => {
    const signature = signatureOf('Convert "10 km" to miles, not feet, for getUser in Paris');
    expect(decodeSignature(encodeSignature(signature))).toEqual(signature);
  });
});

describe('the blocking key', () => {
  const pairs = [...loadPairs('dev'), ...loadPairs('heldout')];

  it('is shared by every pair the default guards let match, so a bucket lookup misses nothing a scan would find', () => {
    const passing = pairs.filter((p) => conflict(p.a, p.b) === undefined);
    expect(passing.length).toBeGreaterThan(150);
    for (const p of passing) expect([p.a, p.b, blockOf(signatureOf(p.a))]).toEqual([p.a, p.b, blockOf(signatureOf(p.b))]);
  });

  it('separates most pairs the guards refuse (it is a filter, not a constant)', () => {
    const refused = pairs.filter((p) => conflict(p.a, p.b) !== undefined);
    const same = refused.filter((p) => blockOf(signatureOf(p.a)) === blockOf(signatureOf(p.b)));
    expect(same.length / refused.length).toBeLessThan(0.15);
  });

  it('applies only while the guards that define it are on', () => {
    expect(blockingApplies({})).toBe(true);
    expect(blockingApplies({ maxAddedWords: 1 })).toBe(false);
    expect(blockingApplies({ substitutions: false })).toBe(false);
    expect(blockingApplies({ typos: false })).toBe(true);
    expect(blockingApplies({ code: false })).toBe(false);
    expect(blockingApplies({ tense: false })).toBe(false);
    expect(blockingApplies({ numbers: false })).toBe(false);
    expect(blockingApplies({ entities: false, order: false })).toBe(true);
    expect(blockingApplies(false)).toBe(false);
  });
});
