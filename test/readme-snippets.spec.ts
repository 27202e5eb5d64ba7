import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ms from 'ms';
import * as ts from 'typescript';
import { DIST, REPO, ensureBuiltLibrary } from './support/built-library';

/**
 * Every ```ts block of README.md compiles against the built package (libs/cache/dist, as an npm user gets
 * it), each as its own module after a declared prelude (README_PRELUDE below: the app's own classes the
 * snippets name). tsc alone misses bugs of meaning, so small checks follow: route order, cache names,
 * TTL units in the migration table, and the sample's environment variables.
 */
const README = readFileSync(join(REPO, 'README.md'), 'utf8');

/** Ambient: a snippet's own imports shadow these, so each snippet may import or not. */
const README_PRELUDE = `
declare const Module: typeof import('@nestjs/common').Module;
declare const Injectable: typeof import('@nestjs/common').Injectable;
declare const Controller: typeof import('@nestjs/common').Controller;
declare const Get: typeof import('@nestjs/common').Get;
declare const Post: typeof import('@nestjs/common').Post;
declare const Param: typeof import('@nestjs/common').Param;
declare const Body: typeof import('@nestjs/common').Body;
declare const Req: typeof import('@nestjs/common').Req;
declare const UseInterceptors: typeof import('@nestjs/common').UseInterceptors;
declare const CacheModule: typeof import('@strata/cache').CacheModule;
declare const CacheInterceptor: typeof import('@strata/cache').CacheInterceptor;
declare const Cacheable: typeof import('@strata/cache').Cacheable;
declare const CacheEvict: typeof import('@strata/cache').CacheEvict;
declare const CacheWarmer: typeof import('@strata/cache').CacheWarmer;
declare const CacheHealthIndicator: typeof import('@strata/cache').CacheHealthIndicator;
type CacheHealthIndicator = import('@strata/cache').CacheHealthIndicator;
declare const CacheService: typeof import('@strata/cache').CacheService;
type CacheService = import('@strata/cache').CacheService;
declare const CacheEvents: typeof import('@strata/cache').CacheEvents;
type CacheEvents = import('@strata/cache').CacheEvents;
declare class ConfigModule {}
declare class ConfigService { get<T = string>(key: string, fallback?: T): T; }
type Request = { params: Record<string, string>; headers: Record<string, string | undefined> };
interface Score { model: string; value: number }
interface Ctx { locale: string }
interface Template { id: string; title: string }
interface Patch { title?: string }
declare class TemplateScorer { score(id: string): Promise<number> }
declare class TemplateStore {
  scores(id: string, locale: string): Promise<Score[]>;
  rename(id: string, title: string): Promise<Template>;
  update(id: string, patch: Patch): Promise<void>;
}
declare class ReportStore {
  ownedBy(user: string): Promise<unknown[]>;
  find(id: string): Promise<unknown>;
  update(id: string, patch: Patch): Promise<void>;
}
declare function tenantOf(request: unknown): string;
declare const cache: CacheService;
declare const logger: { debug(message: string): void };
declare const Registry: typeof import('prom-client').Registry;
type Registry = import('prom-client').Registry;
declare class MetricsModule {}
declare const HealthCheck: typeof import('@nestjs/terminus').HealthCheck;
declare const HealthCheckService: typeof import('@nestjs/terminus').HealthCheckService;
type HealthCheckService = import('@nestjs/terminus').HealthCheckService;
declare const OnEvent: typeof import('@nestjs/event-emitter').OnEvent;
declare const AiCacheModule: typeof import('@strata/cache/ai').AiCacheModule;
declare const AiResponseCache: typeof import('@strata/cache/ai').AiResponseCache;
type AiResponseCache = import('@strata/cache/ai').AiResponseCache;
declare const openai: { chat: { completions: { create(request: object): Promise<{ choices: { message: { content: string } }[]; usage?: { prompt_tokens: number; completion_tokens: number } }> } } };
interface Report { id: string }
interface Doc { id: string }
declare class ReportDb {
  mostReadReportIds(limit: number): Promise<string[]>;
  report(id: string): Promise<Report>;
  streamDocuments(): AsyncIterable<Doc>;
}
`;

interface Block {
  line: number;
  code: string;
}

function blocks(markdown: string, lang: string): Block[] {
  const found: Block[] = [];
  const fence = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  for (let m = fence.exec(markdown); m !== null; m = fence.exec(markdown)) {
    found.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[1] });
  }
  return found;
}

/** Diagnostics of each block compiled as a module against libs/cache/dist. */
function compile(snippets: Block[]): string[] {
  const files = new Map<string, string>([[join(REPO, '__readme__', 'prelude.d.ts'), README_PRELUDE]]);
  for (const { line, code } of snippets) files.set(join(REPO, '__readme__', `line-${line}.ts`), `${code}\nexport {};\n`);
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(REPO, 'node_modules', '@types')],
    baseUrl: REPO,
    paths: { '@strata/cache': [join(DIST, 'index.d.ts')], '@strata/cache/*': [join(DIST, '*', 'index.d.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.readFile = (file) => files.get(file) ?? read(file);
  host.fileExists = (file) => files.has(file) || exists(file);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(REPO + '/', '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** `@Get('mine')` after `@Get(':id')` in one class is never reached: the parametric route takes it. */
export function shadowedRoutes(code: string): string[] {
  const problems: string[] = [];
  for (const body of code.split(/\n(?=(?:export )?class )/)) {
    const routes = [...body.matchAll(/@(Get|Post|Put|Patch|Delete)\(\s*(?:'([^']*)')?\s*\)/g)].map((m) => ({ verb: m[1], path: m[2] ?? '' }));
    routes.forEach((earlier, i) => {
      for (const later of routes.slice(i + 1)) {
        const a = earlier.path.split('/');
        const b = later.path.split('/');
        if (earlier.verb === later.verb && a.length === b.length && a.some((s) => s.startsWith(':')) && a.every((s, k) => s.startsWith(':') || s === b[k]) && earlier.path !== later.path) {
          problems.push(`@${later.verb}('${later.path}') comes after @${earlier.verb}('${earlier.path}'), which matches it first`);
        }
      }
    });
  }
  return problems;
}

/** Cache names a snippet uses (`name: 'x'` in decorator options, `@InjectCache('x')`, `cacheNames`) that no `caches: {}` declares. */
export function undeclaredCaches(markdownBlocks: string[]): string[] {
  const declared = new Set<string>();
  for (const code of markdownBlocks) {
    for (const m of code.matchAll(/caches:\s*\{((?:[^{}]|\{[^{}]*\})*)\}/g)) {
      for (const key of m[1].matchAll(/(?:^|[,{])\s*['"]?([\w-]+)['"]?\s*:\s*\{/g)) declared.add(key[1]);
    }
  }
  const used = new Set<string>();
  for (const code of markdownBlocks) {
    for (const m of code.matchAll(/@(?:Cacheable|CachePut|CacheEvict|CacheWarmer)\(\{[^)]*?\bname:\s*'([\w-]+)'/g)) used.add(m[1]);
    for (const m of code.matchAll(/@InjectCache\('([\w-]+)'\)/g)) used.add(m[1]);
    for (const m of code.matchAll(/cacheNames:\s*\[([^\]]*)\]/g)) for (const n of m[1].matchAll(/'([\w-]+)'/g)) used.add(n[1]);
  }
  return [...used].filter((name) => !declared.has(name));
}

/** Migration rows that turn a cache-manager TTL (milliseconds since cache-manager 5) into a different Strata duration. */
export function ttlMismatches(markdown: string): string[] {
  const section = markdown.slice(markdown.indexOf('## Migrating from `@nestjs/cache-manager`'));
  const table = section.slice(0, section.indexOf('\n## '));
  const problems: string[] = [];
  for (const row of table.split('\n').filter((l) => l.startsWith('|'))) {
    const [, left = '', right = ''] = row.split(/(?<!\\)\|/);
    const from = /(?:@CacheTTL\(|ttl:\s*)([\d_]+)/.exec(left);
    const to = /ttl:\s*'([^']+)'/.exec(right);
    if (from && to && Number(from[1].replace(/_/g, '')) !== ms(to[1] as ms.StringValue)) problems.push(`${left.trim()} → ${right.trim()}`);
  }
  return problems;
}

/** Environment variables the sample app reads that the README never names. */
function undocumentedEnv(markdown: string): string[] {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    }
  };
  walk(join(REPO, 'apps', 'sample', 'src'));
  return [...names].filter((name) => !markdown.includes(`\`${name}\``) && !markdown.includes(`${name}=`));
}

const tsBlocks = blocks(README, 'ts');

describe('README.md', () => {
  beforeAll(ensureBuiltLibrary, 5 * 60_000);

  it('every ```ts block compiles against the built package', () => {
    expect(tsBlocks.length).toBeGreaterThan(10);
    expect(compile(tsBlocks)).toEqual([]);
  }, 120_000);

  it('declares routes so that each is reachable', () => {
    expect(tsBlocks.flatMap((b) => shadowedRoutes(b.code))).toEqual([]);
  });

  it('declares, in a caches option, every named cache a snippet uses', () => {
    expect(undeclaredCaches(tsBlocks.map((b) => b.code))).toEqual([]);
  });

  it('keeps TTLs in the migration table in the same unit (cache-manager TTLs are milliseconds)', () => {
    expect(ttlMismatches(README)).toEqual([]);
  });

  it("documents every environment variable the sample app reads (PORT, REDIS_URL, …)", () => {
    expect(undocumentedEnv(README)).toEqual([]);
  });
});

describe('the README checks catch the bugs they were written for', () => {
  it('a parametric route declared before a static one', () => {
    expect(shadowedRoutes("class A {\n  @Get(':id')\n  get() {}\n  @Get('mine')\n  mine() {}\n}")).toHaveLength(1);
    expect(shadowedRoutes("class A {\n  @Get('mine')\n  mine() {}\n  @Get(':id')\n  get() {}\n}")).toEqual([]);
  });

  it('a decorator naming caches no config declares', () => {
    expect(undeclaredCaches(["caches: { ai: { ttl: '2h', grace: '10m' } },", "@Cacheable({ name: 'scores', ttl: '6h' })\n@CachePut({ name: 'templates', key: '{0}' })"])).toEqual(['scores', 'templates']);
  });

  it('seconds written where cache-manager means milliseconds', () => {
    const table = "## Migrating from `@nestjs/cache-manager`\n\n| a | b |\n|---|---|\n| `@CacheTTL(20)` / x | `@Cacheable({ ttl: '20s' })` |\n\n## Next\n";
    expect(ttlMismatches(table)).toHaveLength(1);
    expect(ttlMismatches(table.replace('@CacheTTL(20)', '@CacheTTL(20_000)'))).toEqual([]);
  });
});
