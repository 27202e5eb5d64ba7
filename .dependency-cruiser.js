/**
 * The layers of libs/cache/src, checked on every `npm test` (libs/cache/test/architecture.spec.ts runs
 * depcruise with this file). See docs/ARCHITECTURE.md for what each layer holds.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const SRC = '^libs/cache/src/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles in the library, type-only imports included: a cycle means two modules are one.',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'core-is-the-ground-floor',
      comment: 'core/ (entry, errors, durations, keys, freeze, single-flight, glob) imports nothing else of the library.',
      severity: 'error',
      from: { path: `${SRC}core/` },
      to: { path: SRC, pathNot: `${SRC}core/` },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'ports/ declares interfaces and tokens only: it depends on nothing else of the library.',
      severity: 'error',
      from: { path: `${SRC}ports/` },
      to: { path: SRC, pathNot: `${SRC}ports/` },
    },
    {
      name: 'only-redis-knows-ioredis',
      comment: 'Every ioredis import (and every Lua script) lives in redis/, the Redis adapter.',
      severity: 'error',
      from: { path: SRC, pathNot: `${SRC}redis/` },
      to: { path: '(^|/)node_modules/ioredis/' },
    },
    {
      name: 'only-postgres-knows-pg',
      comment: 'Every pg import lives in postgres/, the PostgreSQL adapter (the cold tier).',
      severity: 'error',
      from: { path: SRC, pathNot: `${SRC}postgres/` },
      to: { path: '(^|/)node_modules/(pg|pg-pool|@types/pg)/' },
    },
    {
      name: 'adapters-sit-on-ports',
      comment: 'The adapters (redis/, memory/, postgres/) implement ports with core/ helpers; they know nothing of the engine above them.',
      severity: 'error',
      from: { path: `${SRC}(redis|memory|postgres)/` },
      to: { path: SRC, pathNot: `${SRC}(core|ports|redis|memory|postgres)/|${SRC}redis/.*` },
    },
    {
      name: 'the-engine-knows-no-adapter',
      comment: 'The engine and everything above it reach stores through ports; only the composition root picks adapters (cache.adapters.ts; the options files resolve their options).',
      severity: 'error',
      from: { path: SRC, pathNot: `${SRC}(redis|memory|postgres|testing)/|${SRC}cache\\.adapters\\.ts$|${SRC}(cache|named-cache)\\.options\\.ts$|${SRC}index\\.ts$` },
      to: { path: `${SRC}(redis|memory|postgres)/` },
    },
    {
      name: 'only-http-knows-express-and-fastify',
      comment: 'HTTP platform specifics stay in http/: the rest of the library works with any Nest transport.',
      severity: 'error',
      from: { path: SRC, pathNot: `${SRC}http/` },
      to: { path: '(^|/)node_modules/(express|fastify|@fastify/[^/]+|@nestjs/platform-(express|fastify))/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$|\\.measure\\.ts$|\\.fixture\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
