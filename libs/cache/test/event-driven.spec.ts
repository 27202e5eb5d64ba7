import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { useRedis, waitFor } from './harness';
import { CacheModule, CacheService } from '../src';

interface TemplateUpdated {
  id: string;
}

/** The pattern the README documents: a listener invalidates the tags an event makes stale. */
@Injectable()
class TemplateCacheListener {
  constructor(private readonly cache: CacheService) {}

  @OnEvent('template.updated', { promisify: true })
  async onUpdated(event: TemplateUpdated): Promise<void> {
    await this.cache.invalidateTags([`template:${event.id}`]);
  }
}

@Injectable()
class TemplateService {
  scored = 0;
  constructor(
    private readonly cache: CacheService,
    private readonly events: EventEmitter2,
  ) {}

  score(id: string): Promise<string> {
    return this.cache.getOrSet(`score:${id}`, () => `score of ${id} #${++this.scored}`, { tags: [`template:${id}`] });
  }

  async update(id: string): Promise<void> {
    // ... write to the database, then tell whoever cares; emitAsync waits for the listeners.
    await this.events.emitAsync('template.updated', { id } satisfies TemplateUpdated);
  }
}

/** Event-driven invalidation with @nestjs/event-emitter, across two instances on real Redis. */
describe('Event-driven invalidation (@OnEvent + invalidateTags)', () => {
  const redis = useRedis();
  const apps: INestApplicationContext[] = [];
  const create = async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        CacheModule.forRoot({ redis: redis.url, prefix: 'events', logger: { log() {}, warn() {}, error() {} } }),
      ],
      providers: [TemplateCacheListener, TemplateService],
    }).compile();
    const app = await moduleRef.init();
    apps.push(app);
    return app.get(TemplateService);
  };

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('an event handled on A invalidates the tag on A at once and on B within the bus delay', async () => {
    const a = await create();
    const b = await create();
    expect(await a.score('t1')).toBe('score of t1 #1');
    expect(await a.score('t2')).toBe('score of t2 #2');
    expect(await b.score('t1')).toBe('score of t1 #1'); // from Redis, now in B's L1
    await a.update('t1');
    expect(await a.score('t1')).toBe('score of t1 #3');
    await waitFor(async () => (await b.score('t1')) === 'score of t1 #3', { message: 'B to see the new score' });
    expect(await b.score('t2')).toBe('score of t2 #2'); // other tags untouched
    expect(b.scored).toBe(0);
  });
});
