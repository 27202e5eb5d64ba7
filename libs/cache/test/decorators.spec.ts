import { Controller, Get, Injectable, type Provider, Scope, type Type, UseInterceptors } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import {
  CacheEvict,
  CacheModule,
  CacheService,
  CacheInterceptor,
  CachePut,
  CacheTags,
  Cacheable,
  StrataError,
  TenantContext,
} from '../src';
import { CacheExplorer } from '../src/decorators/cache.explorer';
import { useRedis, waitFor } from './harness';
import { CacheFactory, RecordingLogger } from './cache-factory';

/** A stand-in for slow work: counts its runs, answers after a turn of the event loop. */
class Work {
  runs = 0;
  async run<T>(value: T): Promise<T> {
    this.runs += 1;
    await new Promise((resolve) => setImmediate(resolve));
    return value;
  }
}

interface Ctx {
  id: number;
  locale: string;
}

@Injectable()
class TemplateService {
  readonly work = new Work();

  @Cacheable()
  async byDefault(id: string, filter?: Record<string, unknown>): Promise<string> {
    return this.work.run(`template ${id} ${JSON.stringify(filter ?? {})}`);
  }

  /** Calls a cached method of its own class: the call is cached too. */
  async viaThis(id: string): Promise<string> {
    return this.byDefault(id);
  }

  @Cacheable({ key: '{0}:{1.id}' })
  async templated(id: string, ctx: Ctx): Promise<string> {
    return this.work.run(`${id}/${ctx.id}/${ctx.locale}`);
  }

  @Cacheable({ key: (id: string, ctx: Ctx) => `fn:${id}:${ctx.locale}` })
  async keyed(id: string, ctx: Ctx): Promise<string> {
    return this.work.run(`${id}/${ctx.locale}`);
  }

  @Cacheable({ key: 'score:{0}', name: 'scores' })
  async score(id: string): Promise<number> {
    return this.work.run(id.length);
  }

  @Cacheable({ key: 'short:{0}', ttl: '10s', grace: '1m' })
  async short(id: string): Promise<string> {
    return this.work.run(`${id}@${this.work.runs}`);
  }

  @Cacheable({ key: 'cond:{0}', condition: (id: string) => !id.startsWith('live') })
  async conditional(id: string): Promise<string> {
    return this.work.run(`${id}@${this.work.runs}`);
  }

  @Cacheable({ key: 'unless:{0}', unless: (result: string[]) => result.length === 0 })
  async search(q: string): Promise<string[]> {
    return this.work.run(q === 'none' ? [] : [q, q.toUpperCase()]);
  }

  @Cacheable({
    key: 'tagged:{0}',
    tags: ['templates', (id: string) => `template:${id}`, { fromResult: (result: { owner: string }) => [`owner:${result.owner}`] }],
  })
  @CacheTags('from-decorator:{0}')
  async tagged(id: string): Promise<{ id: string; owner: string }> {
    return this.work.run({ id, owner: id === '1' ? 'ada' : 'alan' });
  }

  @Cacheable({ key: () => {
    throw new Error('no key for you');
  } })
  async badKey(id: string): Promise<string> {
    return this.work.run(id);
  }

  @Cacheable({ key: 'badtag:{0}', tags: () => {
    throw new Error('no tags either');
  } })
  async badTags(id: string): Promise<string> {
    return this.work.run(id);
  }

  @Cacheable({ key: '{0}' })
  async echo(id: string): Promise<string> {
    return this.work.run(id);
  }

  @Cacheable({ key: 'slow:{0}' })
  async slow(id: string): Promise<string> {
    return this.work.run(id);
  }

  @CachePut({ key: 'put:{0}' })
  async rename(id: string, title: string): Promise<{ id: string; title: string }> {
    return this.work.run({ id, title });
  }

  @Cacheable({ key: 'put:{0}' })
  async read(id: string): Promise<{ id: string; title: string }> {
    return this.work.run({ id, title: 'original' });
  }

  @CachePut({ key: 'put:{0}', condition: (_id: string, title: string) => title !== 'draft', unless: (r: { title: string }) => r.title === '' })
  async renameCarefully(id: string, title: string): Promise<{ id: string; title: string }> {
    return this.work.run({ id, title });
  }

  /** Declared to return a Promise, not `async`: accepted at startup by its declared type. */
  @Cacheable({ key: 'declared:{0}' })
  declared(id: string): Promise<string> {
    return (id === 'sync' ? (`plain ${id}` as unknown as Promise<string>) : this.work.run(`promised ${id}`));
  }
}

@Injectable()
class EvictingService {
  readonly work = new Work();
  fail = false;

  @CacheEvict({ keys: ['put:{0}', (id: string) => [`tagged:${id}`, `slow:${id}`]] })
  async byKeys(id: string): Promise<void> {
    await this.work.run(id);
  }

  @CacheEvict({ tags: (id: string) => `template:${id}` })
  async byTags(id: string): Promise<void> {
    await this.work.run(id);
    if (this.fail) throw new Error('update failed');
  }

  @CacheEvict({ tags: ['templates'], beforeInvocation: true })
  async beforeFailing(): Promise<void> {
    await this.work.run(null);
    throw new Error('boom');
  }

  @CacheEvict({ pattern: 'slow:{0}*' })
  async byPattern(prefix: string): Promise<void> {
    await this.work.run(prefix);
  }

  @CacheEvict({ all: true })
  async everything(): Promise<void> {
    await this.work.run(null);
  }

  @CacheEvict({ name: 'scores', keys: 'score:{0}', condition: (id: string) => id !== 'keep' })
  @CacheEvict({ keys: 'cond:{0}' })
  async stacked(id: string): Promise<void> {
    await this.work.run(id);
  }
}

describe('cache decorators on a real Redis', () => {
  const redis = useRedis();
  const apps = new CacheFactory();
  let admin: Redis;
  let n = 0;
  const prefix = () => `dec${++n}`;

  beforeAll(() => {
    admin = redis.client();
  });
  afterEach(() => apps.closeAll());

  async function boot(options: { fakeClock?: boolean; logger?: RecordingLogger } = {}) {
    const p = prefix();
    const logger = options.logger ?? new RecordingLogger();
    const made = await apps.create(
      { redis: redis.url, prefix: p, caches: { scores: { ttl: '1h' } }, logger },
      { fakeClock: options.fakeClock, providers: [TemplateService, EvictingService] },
    );
    return { ...made, p, logger, templates: made.app.get(TemplateService), evicting: made.app.get(EvictingService) };
  }

  it('@Cacheable with the default key: Class.method + a stable hash of the arguments; calls through this are cached', async () => {
    const { templates, p } = await boot();
    expect(await templates.byDefault('1', { a: 1, b: 2 })).toBe('template 1 {"a":1,"b":2}');
    expect(await templates.byDefault('1', { b: 2, a: 1 })).toBe('template 1 {"a":1,"b":2}');
    expect(templates.work.runs).toBe(1);
    await templates.viaThis('2');
    await templates.viaThis('2');
    expect(await templates.byDefault('2')).toBe('template 2 {}');
    expect(templates.work.runs).toBe(2);
    const keys = await admin.keys(`${p}:*`);
    expect(keys.filter((key) => key.startsWith(`${p}:default:default:TemplateService.byDefault%3A`))).toHaveLength(2);
  });

  it('@Cacheable key templates and key functions', async () => {
    const { templates, cache } = await boot();
    expect(await templates.templated('tpl', { id: 7, locale: 'fr' })).toBe('tpl/7/fr');
    expect(await templates.templated('tpl', { id: 7, locale: 'de' })).toBe('tpl/7/fr'); // locale is not in the key
    expect(await admin.exists(cache.keyOf('tpl:7'))).toBe(1);
    expect(await templates.keyed('k', { id: 1, locale: 'en' })).toBe('k/en');
    expect(await templates.keyed('k', { id: 2, locale: 'en' })).toBe('k/en');
    expect(await admin.exists(cache.keyOf('fn:k:en'))).toBe(1);
    expect(templates.work.runs).toBe(2);
  });

  it('@Cacheable name: the named cache holds the entry, with its policy', async () => {
    const { templates, cache, p } = await boot();
    expect(await templates.score('abc')).toBe(3);
    expect(await templates.score('abc')).toBe(3);
    expect(templates.work.runs).toBe(1);
    const key = `${p}:default:scores:score%3Aabc`;
    expect(cache.cache('scores').keyOf('score:abc')).toBe(key);
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(59 * 60_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
  });

  it('@Cacheable ttl and grace: fresh for ttl, then served stale while one refresh runs', async () => {
    const { templates, clock } = await boot({ fakeClock: true });
    expect(await templates.short('a')).toBe('a@0');
    clock.advance(9_000);
    expect(await templates.short('a')).toBe('a@0');
    clock.advance(2_000); // past ttl, within grace
    expect(await templates.short('a')).toBe('a@0'); // stale, refresh started
    await waitFor(() => templates.work.runs === 2);
    await waitFor(async () => (await templates.short('a')) === 'a@1');
    clock.advance(10_000 + 60_000 + 1); // past ttl and grace
    expect(await templates.short('a')).toBe('a@2');
    expect(templates.work.runs).toBe(3);
  });

  it('@Cacheable condition: false calls straight through and stores nothing', async () => {
    const { templates, cache } = await boot();
    expect(await templates.conditional('live-1')).toBe('live-1@0');
    expect(await templates.conditional('live-1')).toBe('live-1@1');
    expect(await admin.exists(cache.keyOf('cond:live-1'))).toBe(0);
    expect(await templates.conditional('x')).toBe('x@2');
    expect(await templates.conditional('x')).toBe('x@2');
    expect(await admin.exists(cache.keyOf('cond:x'))).toBe(1);
  });

  it('@Cacheable unless: a result it rejects is returned but not stored', async () => {
    const { templates, cache } = await boot();
    expect(await templates.search('none')).toEqual([]);
    expect(await templates.search('none')).toEqual([]);
    expect(templates.work.runs).toBe(2);
    expect(await admin.exists(cache.keyOf('unless:none'))).toBe(0);
    expect(await templates.search('ok')).toEqual(['ok', 'OK']);
    expect(await templates.search('ok')).toEqual(['ok', 'OK']);
    expect(templates.work.runs).toBe(3);
  });

  it('tags from @Cacheable (static, from arguments, from the result) and @CacheTags all invalidate the entry', async () => {
    const { templates, cache } = await boot();
    const fill = async () => {
      await templates.tagged('1');
      await templates.tagged('2');
    };
    const runsAfter = async (tags: string[]) => {
      await fill();
      const before = templates.work.runs;
      await cache.invalidateTags(tags);
      await fill();
      return templates.work.runs - before;
    };
    await fill();
    expect(templates.work.runs).toBe(2);
    expect(await runsAfter(['template:1'])).toBe(1);
    expect(await runsAfter(['owner:alan'])).toBe(1);
    expect(await runsAfter(['from-decorator:2'])).toBe(1);
    expect(await runsAfter(['templates'])).toBe(2);
    expect(await runsAfter(['unrelated'])).toBe(0);
  });

  it('concurrent calls with one key run the method once', async () => {
    const { templates } = await boot();
    const results = await Promise.all(Array.from({ length: 50 }, () => templates.slow('same')));
    expect(new Set(results)).toEqual(new Set(['same']));
    expect(templates.work.runs).toBe(1);
  });

  it('a key function that throws: the call goes through uncached, counted, logged once', async () => {
    const { templates, cache, logger } = await boot();
    expect(await templates.badKey('a')).toBe('a');
    expect(await templates.badKey('a')).toBe('a');
    expect(templates.work.runs).toBe(2);
    expect(cache.stats().keyErrors).toBe(2);
    expect(logger.count(/TemplateService\.badKey.*no key for you/)).toBe(1);
  });

  it('a key the cache cannot take (empty): the call goes through uncached, counted', async () => {
    const { templates, cache } = await boot();
    expect(await templates.echo('')).toBe('');
    expect(await templates.echo('')).toBe('');
    expect(await templates.echo('x')).toBe('x');
    expect(await templates.echo('x')).toBe('x');
    expect(templates.work.runs).toBe(3);
    expect(cache.stats().keyErrors).toBe(2);
  });

  it('a tag function that throws: the result is returned, not stored, counted, logged once', async () => {
    const { templates, cache, logger } = await boot();
    expect(await templates.badTags('a')).toBe('a');
    expect(await templates.badTags('a')).toBe('a');
    expect(templates.work.runs).toBe(2);
    expect(await admin.exists(cache.keyOf('badtag:a'))).toBe(0);
    expect(cache.stats().keyErrors).toBe(2);
    expect(logger.count(/TemplateService\.badTags.*no tags either/)).toBe(1);
  });

  it('@CachePut always runs and refreshes the entry @Cacheable reads; condition and unless apply', async () => {
    const { templates } = await boot();
    expect(await templates.read('1')).toEqual({ id: '1', title: 'original' });
    expect(await templates.rename('1', 'renamed')).toEqual({ id: '1', title: 'renamed' });
    expect(await templates.rename('1', 'renamed')).toEqual({ id: '1', title: 'renamed' });
    expect(templates.work.runs).toBe(3);
    expect(await templates.read('1')).toEqual({ id: '1', title: 'renamed' });
    await templates.renameCarefully('1', 'draft');
    expect(await templates.read('1')).toEqual({ id: '1', title: 'renamed' });
    await templates.renameCarefully('1', '');
    expect(await templates.read('1')).toEqual({ id: '1', title: 'renamed' });
    await templates.renameCarefully('1', 'final');
    expect(await templates.read('1')).toEqual({ id: '1', title: 'final' });
    expect(templates.work.runs).toBe(6);
  });

  it('@CacheEvict keys: templates and functions returning several keys', async () => {
    const { templates, evicting, cache } = await boot();
    await templates.read('9');
    await templates.tagged('9');
    await templates.slow('9');
    const keys = ['put:9', 'tagged:9', 'slow:9'].map((key) => cache.keyOf(key));
    expect(await admin.exists(...keys)).toBe(3);
    await evicting.byKeys('9');
    expect(await admin.exists(...keys)).toBe(0);
    expect(await cache.get('put:9')).toBeUndefined();
  });

  it('@CacheEvict tags after success only; a failing method evicts nothing', async () => {
    const { templates, evicting } = await boot();
    await templates.tagged('1');
    evicting.fail = true;
    await expect(evicting.byTags('1')).rejects.toThrow('update failed');
    await templates.tagged('1');
    expect(templates.work.runs).toBe(1);
    evicting.fail = false;
    await evicting.byTags('1');
    await templates.tagged('1');
    expect(templates.work.runs).toBe(2);
  });

  it('@CacheEvict beforeInvocation evicts even when the method throws', async () => {
    const { templates, evicting } = await boot();
    await templates.tagged('1');
    await expect(evicting.beforeFailing()).rejects.toThrow('boom');
    await templates.tagged('1');
    expect(templates.work.runs).toBe(2);
  });

  it('@CacheEvict pattern: a glob over the cache keys, with inserted values matched literally', async () => {
    const { templates, evicting, cache } = await boot();
    for (const id of ['ab1', 'ab2', 'a*', 'a*x', 'b1']) await templates.slow(id);
    await evicting.byPattern('a*'); // the value 'a*' is literal: only slow:a* and slow:a*x go
    expect(await admin.exists(cache.keyOf('slow:a*'), cache.keyOf('slow:a*x'))).toBe(0);
    expect(await admin.exists(cache.keyOf('slow:ab1'), cache.keyOf('slow:ab2'), cache.keyOf('slow:b1'))).toBe(3);
    await evicting.byPattern('ab');
    expect(await admin.exists(cache.keyOf('slow:ab1'), cache.keyOf('slow:ab2'))).toBe(0);
    expect(await admin.exists(cache.keyOf('slow:b1'))).toBe(1);
    expect(await cache.get('slow:ab1')).toBeUndefined();
  });

  it('@CacheEvict all: the whole namespace goes', async () => {
    const { templates, evicting } = await boot();
    await templates.slow('x');
    await templates.score('x');
    await evicting.everything();
    await templates.slow('x');
    await templates.score('x');
    expect(templates.work.runs).toBe(4);
  });

  it('stacked @CacheEvict with name and condition', async () => {
    const { templates, evicting } = await boot();
    await templates.score('keep');
    await templates.conditional('keep');
    await templates.score('go');
    await evicting.stacked('keep'); // scores entry kept (condition), cond:keep evicted
    await evicting.stacked('go');
    const before = templates.work.runs;
    await templates.score('keep');
    await templates.conditional('keep');
    await templates.score('go');
    expect(templates.work.runs - before).toBe(2);
  });

  it('a method declared to return a Promise but returning a value is still cached, with one warning', async () => {
    const { templates, logger } = await boot();
    expect(await templates.declared('async')).toBe('promised async');
    expect(await templates.declared('sync')).toBe('plain sync');
    expect(await templates.declared('sync')).toBe('plain sync');
    expect(logger.count(/TemplateService\.declared: declared to return a Promise but returned a plain value/)).toBe(1);
  });

  it('the wrapper keeps the method name and metadata, and is never wrapped twice', async () => {
    const { templates, app } = await boot();
    const wrapped = templates.slow;
    expect(wrapped).not.toBe(TemplateService.prototype.slow);
    expect(wrapped.name).toBe('slow');
    expect(Reflect.getMetadata('design:returntype', TemplateService.prototype, 'slow')).toBe(Promise);
    for (const key of Reflect.getOwnMetadataKeys(TemplateService.prototype.slow)) {
      expect(Reflect.getOwnMetadata(key, wrapped)).toBe(Reflect.getOwnMetadata(key, TemplateService.prototype.slow));
    }
    app.get(CacheExplorer).onModuleInit();
    expect(templates.slow).toBe(wrapped);
    await Promise.all([templates.slow('z'), templates.slow('z')]);
    expect(templates.work.runs).toBe(1);
  });

  it('@OnEvent and @CacheEvict on one method: the event evicts (the wrapper keeps the listener metadata)', async () => {
    @Injectable()
    class Listener {
      @OnEvent('template.updated', { async: true, promisify: true })
      @CacheEvict({ tags: (event: { id: string }) => [`template:${event.id}`] })
      async onUpdated(_event: { id: string }): Promise<void> {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), CacheModule.forRoot({ redis: redis.url, prefix: prefix(), caches: { scores: {} }, logger: new RecordingLogger() })],
      providers: [TemplateService, Listener],
    }).compile();
    const app = await moduleRef.init();
    try {
      const templates = app.get(TemplateService);
      await templates.tagged('1');
      await templates.tagged('2');
      await app.get(EventEmitter2).emitAsync('template.updated', { id: '1' });
      await templates.tagged('1');
      await templates.tagged('2');
      expect(templates.work.runs).toBe(3);
      expect(app.get(CacheService).stats().keyErrors).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('decorated calls made in a tenant scope use that tenant\'s keys', async () => {
    const { templates, cache, app } = await boot();
    const tenants = app.get(TenantContext);
    expect(await tenants.run('acme', () => templates.templated('t', { id: 1, locale: 'fr' }))).toBe('t/1/fr');
    expect(await admin.exists(cache.forTenant('acme').keyOf('t:1'))).toBe(1);
    expect(await admin.exists(cache.keyOf('t:1'))).toBe(0);
    expect(await tenants.run('globex', () => templates.templated('t', { id: 1, locale: 'de' }))).toBe('t/1/de');
    expect(templates.work.runs).toBe(2);
  });
});

describe('cache decorators: startup checks', () => {
  const apps = new CacheFactory();
  afterEach(() => apps.closeAll());

  async function startup(providers: Provider[], controllers: Type<unknown>[] = []) {
    const logger = new RecordingLogger();
    const made = await apps.create({ logger, caches: { known: {} } }, { providers, controllers });
    return { logger, app: made.app };
  }

  it('a decorated method that is not async fails startup, naming Class.method and what to do', async () => {
    @Injectable()
    class Sync {
      @Cacheable()
      compute(id: string) {
        return id;
      }
    }
    const failure = await startup([Sync]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as StrataError).code).toBe('E_INVALID_DECORATOR');
    expect((failure as Error).message).toMatch(
      /@Cacheable on Sync\.compute: the method is not async, but a cached call must return a Promise; make it 'async'/,
    );
  });

  it.each<[string, () => Type<unknown>, RegExp]>([
    ['a brace outside a placeholder', () => {
      @Injectable()
      class C {
        @Cacheable({ key: '{id}' })
        async m(): Promise<void> {}
      }
      return C;
    }, /@Cacheable on C\.m: the key template '\{id\}' has a brace outside a placeholder/],
    ['an unknown cache name', () => {
      @Injectable()
      class C {
        @Cacheable({ name: 'nope' })
        async m(): Promise<void> {}
      }
      return C;
    }, /@Cacheable on C\.m: unknown cache 'nope'/],
    ['a bad ttl', () => {
      @Injectable()
      class C {
        @Cacheable({ ttl: 'soon' as never })
        async m(): Promise<void> {}
      }
      return C;
    }, /@Cacheable on C\.m: .*ttl must be a positive duration/],
    ['@CacheEvict with nothing to evict', () => {
      @Injectable()
      class C {
        @CacheEvict({})
        async m(): Promise<void> {}
      }
      return C;
    }, /@CacheEvict on C\.m: has nothing to evict/],
    ['@CachePut without a key', () => {
      @Injectable()
      class C {
        @CachePut({} as never)
        async m(): Promise<void> {}
      }
      return C;
    }, /@CachePut on C\.m: needs a key/],
    ['@CacheTags alone', () => {
      @Injectable()
      class C {
        @CacheTags('t')
        async m(): Promise<void> {}
      }
      return C;
    }, /C\.m: has @CacheTags but neither @Cacheable nor @CachePut/],
    ['@Cacheable and @CachePut together', () => {
      @Injectable()
      class C {
        @Cacheable()
        @CachePut({ key: 'k' })
        async m(): Promise<void> {}
      }
      return C;
    }, /C\.m: has both @Cacheable and @CachePut/],
  ])('rejects %s at startup', async (_label, make, message) => {
    await expect(startup([make()])).rejects.toThrow(message);
  });

  it('two classes of one name with default keys would share entries: startup says so', async () => {
    const first = (() => {
      @Injectable()
      class Twin {
        @Cacheable()
        async m(): Promise<number> {
          return 1;
        }
      }
      return Twin;
    })();
    const second = (() => {
      @Injectable()
      class Twin {
        @Cacheable()
        async m(): Promise<number> {
          return 2;
        }
      }
      return Twin;
    })();
    await expect(startup([first, { provide: 'other', useClass: second }])).rejects.toThrow(/another class is also named Twin/);
  });

  it('a request-scoped provider is skipped with a warning', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Cacheable()
      async m(): Promise<number> {
        return 1;
      }
    }
    const { logger } = await startup([PerRequest]);
    expect(logger.count(/PerRequest\.m carries cache decorators but PerRequest is request-scoped/)).toBe(1);
  });

  it('route handlers are left to CacheInterceptor, with a warning when none is bound', async () => {
    @Controller('a')
    class Unbound {
      @Get()
      @Cacheable({ ttl: '1m' })
      async list(): Promise<number[]> {
        return [1];
      }

      /** Not a route: the explorer wraps it like any provider method. */
      @Cacheable()
      async helper(): Promise<number> {
        return 2;
      }
    }
    @Controller('b')
    @UseInterceptors(CacheInterceptor)
    class Bound {
      @Get()
      @Cacheable({ ttl: '1m' })
      async list(): Promise<number[]> {
        return [2];
      }
    }
    const { logger, app } = await startup([], [Unbound, Bound]);
    expect(logger.count(/Unbound\.list is a route handler with cache decorators, but no CacheInterceptor is bound to it/)).toBe(1);
    expect(logger.count(/\bBound\.list is a route/)).toBe(0);
    expect(app.get(Unbound).list).toBe(Unbound.prototype.list);
    expect(app.get(Unbound).helper).not.toBe(Unbound.prototype.helper);
  });
});
