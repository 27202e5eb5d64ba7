/**
 * `@Cacheable` hit against a direct `cache.getOrSet` hit with the same key (goal ≥ 0.8×), and what
 * tenancy adds to an L1 hit. Alone: `node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/suites/decorators.suite.ts`
 */
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CacheModule, CacheService, Cacheable, TenantContext } from '@strata/cache';
import { LRUCache } from 'lru-cache';
import { compare, figureCell, machine, oneKbValue } from '../lib';
import { type BenchRow, renderRows } from './bench-row';

const value = oneKbValue();

@Injectable()
class Templates {
  @Cacheable({ key: '{0}' })
  async byKey(_id: string): Promise<object> {
    return value;
  }

  @Cacheable()
  async byDefaultKey(_id: string): Promise<object> {
    return value;
  }
}

export async function run(options: { scale?: number } = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? 1;
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.forRoot({ logger: { log() {}, warn() {}, error() {} } })],
    providers: [Templates],
  }).compile();
  const app = await moduleRef.init();
  try {
    const cache = app.get(CacheService);
    const templates = app.get(Templates);
    const tenants = app.get(TenantContext);
    const factory = async () => value;
    await cache.getOrSet('tpl-1', factory);
    await templates.byKey('tpl-1');
    await templates.byDefaultKey('tpl-1');
    const rows: BenchRow[] = [];

    // Before any tenant scope exists: AsyncLocalStorage is not even enabled yet.
    const lru = new LRUCache<string, object>({ max: 10_000 });
    lru.set('tpl-1', value);
    const hits = await compare(
      {
        'direct cache.getOrSet (L1 hit)': () => cache.getOrSet('tpl-1', factory),
        "@Cacheable({ key: '{0}' }) (L1 hit)": () => templates.byKey('tpl-1'),
        '@Cacheable() default key (L1 hit)': () => templates.byDefaultKey('tpl-1'),
      },
      { ops: Math.round(1_000_000 * scale) },
    );
    rows.push({
      suite: '@Cacheable hit vs direct getOrSet hit, same key, 1 KB JSON',
      figures: hits,
      goal: { candidate: "@Cacheable({ key: '{0}' }) (L1 hit)", baseline: 'direct cache.getOrSet (L1 hit)', ratio: 0.8 },
    });
    const plain = await compare(
      { 'await lru.get': () => lru.get('tpl-1'), 'cache.get (L1 hit, tenancy never used)': () => cache.get('tpl-1') },
      { ops: Math.round(2_000_000 * scale) },
    );
    rows.push({ suite: 'L1 hit before any tenant scope', figures: plain });

    // Once a scope has been entered, AsyncLocalStorage's hooks are on for the whole process.
    await tenants.run('acme', () => cache.set('tpl-1', value));
    const inScope = (fn: () => unknown) => () => tenants.run('acme', fn);
    const scoped = await compare(
      {
        'await lru.get (in a scope)': inScope(() => lru.get('tpl-1')),
        'cache.get outside any scope': () => cache.get('tpl-1'),
        'cache.get in a tenant scope': inScope(() => cache.get('tpl-1')),
      },
      { ops: Math.round(1_000_000 * scale) },
    );
    rows.push({
      suite: 'L1 hit in a tenant scope (AsyncLocalStorage enabled)',
      figures: scoped,
      goal: { candidate: 'cache.get in a tenant scope', baseline: 'await lru.get (in a scope)', ratio: 0.25 },
      note: 'Each op enters the scope (`TenantContext.run`) and awaits the read; the scope entry is paid by both candidates.',
    });
    return rows;
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  run({ scale: process.argv.includes('--quick') ? 0.2 : 1 })
    .then((rows) => process.stdout.write(`Machine: ${machine()}\n\n${renderRows(rows, figureCell)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
