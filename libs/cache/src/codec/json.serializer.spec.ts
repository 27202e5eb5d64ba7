import fc from 'fast-check';
import { types } from 'node:util';
import { CorruptEntryError, NotSerializableError } from '../core/errors';
import { createTagReplacer } from './json-tag.replacer';
import { EntryCodec } from './entry.codec';
import { JsonSerializer } from './json.serializer';

const serializer = new JsonSerializer();

function roundTrip(value: unknown): unknown {
  const { text, tagged } = serializer.stringify(value);
  return serializer.parse(text, tagged);
}

function expectPrototypesUntouched(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(objectProtoNames);
}
const objectProtoNames = Object.getOwnPropertyNames(Object.prototype);

// Keys that have bitten JSON-based caches before: prototype keys, and our own tag and payload keys.
const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', '$t', 'v'));

/**
 * Exact structural equality. Not Jest's toStrictEqual: it compares `a.constructor`, which an own
 * `constructor` key (one of the keys we most want to test) overrides, and it calls two Invalid
 * Dates different.
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (types.isDate(a)) return types.isDate(b) && Object.is(a.getTime(), b.getTime());
  if (types.isUint8Array(a)) return types.isUint8Array(b) && Buffer.compare(a, b) === 0;
  if (types.isMap(a) || types.isSet(a)) {
    const xs = [...(a as Iterable<unknown>)];
    const ys = [...(b as Iterable<unknown>)];
    return xs.length === ys.length && xs.every((x, i) => same(x, ys[i]));
  }
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]))
  );
}

/**
 * Values the serializer promises to round-trip. No `undefined` inside plain objects or arrays: JSON
 * drops/nulls those by design.
 */
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt(),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array().map((a) => Buffer.from(a)),
    fc.uint8Array(),
    tie('array'),
    tie('object'),
    tie('map'),
    tie('set'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  map: fc
    .array(fc.tuple(fc.oneof(key, fc.integer(), tie('value')), fc.option(tie('value'), { nil: undefined })), {
      maxLength: 4,
    })
    .map((pairs) => new Map(pairs)),
  set: fc.array(fc.option(tie('value'), { nil: undefined }), { maxLength: 4 }).map((xs) => new Set(xs)),
}));

describe('JsonSerializer', () => {
  it('round-trips arbitrary JSON-ish values mixed with Date, Buffer, Uint8Array, Map, Set, BigInt', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(same(roundTrip(v), v)).toBe(true);
      }),
      { numRuns: 500 },
    );
    expectPrototypesUntouched();
  });

  it('writes the same text with or without its plain-JSON fast path', () => {
    class Box {
      constructor(readonly inner: unknown) {}
    }
    const anyValue = fc.oneof(value, fc.jsonValue(), value.map((v) => new Box(v)), fc.anything({ withNullPrototype: true }));
    fc.assert(
      fc.property(anyValue, (v) => {
        const viaReplacer = JSON.stringify(v, createTagReplacer(() => undefined));
        if (viaReplacer === undefined) return;
        expect(serializer.stringify(v).text).toBe(viaReplacer);
      }),
      { numRuns: 500 },
    );
  });

  it('is untagged exactly when plain JSON.parse restores the value', () => {
    // -0 is the one value fc.jsonValue() makes that JSON itself cannot keep; and an object of the user's
    // that owns a `$t` key is written tagged (as `Obj`), so that in tagged text every `$t` is a tag.
    const needsTags = (v: unknown): boolean =>
      Object.is(v, -0) || (typeof v === 'object' && v !== null && ((!Array.isArray(v) && Object.hasOwn(v, '$t')) || Object.values(v).some(needsTags)));
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const { text, tagged } = serializer.stringify(v);
        expect(tagged).toBe(needsTags(v));
        if (!tagged) expect(JSON.parse(text)).toStrictEqual(v);
      }),
    );
  });

  it("tags an object of the user's that owns a `$t` key, at any depth, and reads it back", () => {
    for (const v of [{ '': { $t: 0 } }, { $t: 'Date', v: 1 }, [{ a: [{ $t: null }] }]]) {
      const { text, tagged } = serializer.stringify(v);
      expect(tagged).toBe(true);
      expect(serializer.parse(text, tagged)).toStrictEqual(v);
    }
  });

  it('keeps special numbers, invalid Dates and class instances as JSON data', () => {
    expect(roundTrip([NaN, -0, Infinity, -Infinity, 0])).toStrictEqual([NaN, -0, Infinity, -Infinity, 0]);
    const invalid = roundTrip({ d: new Date(NaN) }) as { d: Date };
    expect(invalid.d).toBeInstanceOf(Date);
    expect(invalid.d.getTime()).toBeNaN();
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    expect(serializer.stringify(new Point(1, 2))).toEqual({ text: '{"x":1,"y":2}', tagged: false });
  });

  it('writes values without special types as plain JSON', () => {
    expect(serializer.stringify({ a: [1, 'x', null, true], b: { c: 1.5 } })).toEqual({
      text: '{"a":[1,"x",null,true],"b":{"c":1.5}}',
      tagged: false,
      shallow: true,
    });
    expect(serializer.stringify({ a: 1, gone: undefined }).text).toBe('{"a":1}');
  });

  it('says a value is shallow only when it walked it as plain JSON within 64 levels (the codec then skips its depth scan)', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 'leaf' : { n: nest(levels - 1) });
    expect(serializer.stringify(nest(64)).shallow).toBe(true);
    expect(serializer.stringify(nest(65)).shallow).toBeUndefined();
    expect(serializer.stringify({ when: new Date(0) }).shallow).toBeUndefined();
    // Past 64 levels the codec still measures the text: 1001 levels are refused, as before.
    const codec = new EntryCodec();
    expect(() => codec.serializeValue(nest(1001))).toThrow(NotSerializableError);
    expect(codec.serializeValue(nest(999)).shallow).toBeUndefined();
  });

  it('round-trips user objects that look like its own tags', () => {
    const lookalikes = [
      { $t: 'Date', v: '2020-01-01T00:00:00.000Z' },
      { $t: 'Map', v: [[1, 2]] },
      { $t: 'Obj', v: [['a', 1]] },
      { $t: 'U' },
      { $t: 'nonsense', v: { $t: 'Set', v: [] }, other: new Date(0) },
      { $t: 1 },
    ];
    for (const obj of lookalikes) {
      const { tagged } = serializer.stringify(obj);
      expect(tagged).toBe(true);
      expect(roundTrip(obj)).toStrictEqual(obj);
    }
  });

  describe('never pollutes prototypes', () => {
    const payloads = [
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"a":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
    ];
    it.each(payloads.flatMap((p) => [[p, false] as const, [p, true] as const]))('%s (tagged=%s)', (text, tagged) => {
      const parsed = serializer.parse(text, tagged) as Record<string, unknown>;
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
      expectPrototypesUntouched();
      // The key survives as data, so the value round-trips instead of silently losing it.
      expect(JSON.stringify(parsed)).toBe(text);
    });

    it('inside the objects, Maps and Sets it rebuilds itself', () => {
      const text =
        '{"$t":"Obj","v":[["__proto__",{"polluted":1}],["$t","x"],["constructor",{"prototype":{"polluted":1}}]]}';
      const obj = serializer.parse(text, true) as Record<string, unknown>;
      expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
      expect(Object.keys(obj)).toEqual(['__proto__', '$t', 'constructor']);
      expect(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value).toEqual({ polluted: 1 });

      const map = serializer.parse('{"$t":"Map","v":[["__proto__",{"__proto__":{"polluted":1}}]]}', true);
      expect(map).toBeInstanceOf(Map);
      const set = serializer.parse('{"$t":"Set","v":[{"__proto__":{"polluted":1}}]}', true) as Set<unknown>;
      expect([...set][0]).toEqual(JSON.parse('{"__proto__":{"polluted":1}}'));
      expectPrototypesUntouched();

      const own = { ['__proto__']: { polluted: 1 }, $t: 'Map' };
      const back = roundTrip(new Map([['k', own]])) as Map<string, object>;
      expect(Object.getPrototypeOf(back.get('k'))).toBe(Object.prototype);
      expect(back.get('k')).toStrictEqual(own);
      expectPrototypesUntouched();
    });
  });

  describe('refuses values it cannot store', () => {
    it.each<[string, () => unknown]>([
      ['a top-level function', () => () => 1],
      ['a nested function', () => ({ a: { f: () => 1 } })],
      ['a symbol', () => ({ s: Symbol('x') })],
      ['a top-level undefined', () => undefined],
      [
        'a circular object',
        () => {
          const a: Record<string, unknown> = {};
          a['self'] = { a };
          return a;
        },
      ],
      [
        'a circle through a Map',
        () => {
          const m = new Map<string, unknown>();
          m.set('me', [m]);
          return m;
        },
      ],
    ])('%s → NotSerializableError', (_name, make) => {
      expect(() => serializer.stringify(make())).toThrow(NotSerializableError);
    });
  });

  it('reports malformed tags in stored text as CorruptEntryError', () => {
    for (const text of ['{"$t":"Map","v":3}', '{"$t":"BigInt","v":"1e3"}', '{"$t":"Nope"}', '{"$t":"Obj","v":[[1,2]]}']) {
      expect(() => serializer.parse(text, true)).toThrow(CorruptEntryError);
    }
  });
});
