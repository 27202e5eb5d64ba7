import { NotSerializableError } from '../core/errors';
import type { SerializedValue } from '../tiers/tier';
import type { EngineContext } from './engine.context';
import type { CachePolicy } from './engine.types';

/** Runs values through the view's serializer once, refusing (counted, logged once) what cannot or should not be cached. */
export class EntrySerializer {
  constructor(
    private readonly ctx: EngineContext,
    private readonly maxValueBytes: number,
  ) {}

  serialize(key: string, value: unknown, policy: CachePolicy): SerializedValue | undefined {
    let serialized: SerializedValue;
    try {
      serialized = policy.codec.serializeValue(value);
    } catch (error) {
      if (!(error instanceof NotSerializableError)) throw error;
      this.ctx.meter.count(policy, 'notCacheable');
      if (this.ctx.strict) throw error;
      this.ctx.warnOnce(`serialize:${policy.namespaceId}`, `a value for ${key} was not cached: ${error.message}`);
      return undefined;
    }
    // In UTF-8 bytes, as readers bound it; UTF-16 length is at least a third of that, so only texts
    // near the bound are measured.
    const max = this.maxValueBytes;
    const text = serialized.text;
    if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max)) {
      this.ctx.meter.count(policy, 'tooLarge');
      this.ctx.warnOnce(`size:${policy.namespaceId}`, `a value for ${key} was not cached: larger than maxValueBytes (${this.maxValueBytes})`);
      return undefined;
    }
    return serialized;
  }
}
