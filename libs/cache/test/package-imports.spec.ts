import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import * as ts from 'typescript';

/**
 * What the published package may import: package roots only (no `@nestjs/common/constants`, whose file
 * layout is not a contract), every package declared in package.json, and optional peers with `import type`
 * only, so a memory-only app loads without them (they are required at run time by core/optional-peer.ts).
 */
const libRoot = join(__dirname, '..');
const manifest = JSON.parse(readFileSync(join(libRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const optionalPeers = Object.keys(manifest.peerDependenciesMeta).filter((name) => manifest.peerDependenciesMeta[name].optional);
const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);

interface ImportSite {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Every module specifier in a file: import/export declarations, `import()` (value or type) and `require()`. */
function importsOf(file: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const sites: ImportSite[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = ts.isImportDeclaration(node) ? node.importClause : undefined;
      const typeOnly = ts.isImportDeclaration(node)
        ? clause !== undefined && (clause.isTypeOnly || (clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.name === undefined && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)))
        : node.isTypeOnly;
      sites.push({ file, specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      sites.push({ file, specifier: node.argument.literal.text, typeOnly: true });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        sites.push({ file, specifier: node.arguments[0].text, typeOnly: false });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** `@scope/name/deep/path` → `@scope/name`; `name/deep` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);

const sites = sourceFiles(join(libRoot, 'src')).flatMap((file) => importsOf(relative(libRoot, file), readFileSync(file, 'utf8')));
const external = sites.filter((site) => !site.specifier.startsWith('.') && !isBuiltin(site.specifier));

describe('what libs/cache/src imports', () => {
  it('reads the imports of the whole library (the check is not vacuous)', () => {
    expect(external.length).toBeGreaterThan(20);
    expect(external.some((site) => site.specifier === 'ioredis' && site.typeOnly)).toBe(true);
  });

  it('imports no package internals: package roots only', () => {
    const deep = external.filter((site) => site.specifier !== packageOf(site.specifier)).map((site) => `${site.file}: ${site.specifier}`);
    expect(deep).toEqual([]);
  });

  it('imports only packages declared in libs/cache/package.json', () => {
    const undeclared = external.filter((site) => !declared.has(packageOf(site.specifier))).map((site) => `${site.file}: ${site.specifier}`);
    expect(undeclared).toEqual([]);
  });

  it('loads optional peers only through core/optional-peer.ts, never with an import that runs at load', () => {
    const eager = external.filter((site) => optionalPeers.includes(packageOf(site.specifier)) && !site.typeOnly).map((site) => `${site.file}: ${site.specifier}`);
    expect(optionalPeers).toEqual(expect.arrayContaining(['ioredis', 'prom-client', '@opentelemetry/api']));
    expect(eager).toEqual([]);
  });

  it('would catch a deep import, an undeclared package and an eager optional peer (the parser sees each)', () => {
    const probe = importsOf(
      'probe.ts',
      [
        "import { PATH_METADATA } from '@nestjs/common/constants';",
        "import Redis from 'ioredis';",
        "import type { Registry } from 'prom-client';",
        "const api = require('@opentelemetry/api');",
        "type T = typeof import('left-pad');",
      ].join('\n'),
    );
    expect(probe.map(({ specifier, typeOnly }) => [specifier, typeOnly])).toEqual([
      ['@nestjs/common/constants', false],
      ['ioredis', false],
      ['prom-client', true],
      ['@opentelemetry/api', false],
      ['left-pad', true],
    ]);
    expect(packageOf('@nestjs/common/constants')).toBe('@nestjs/common');
  });
});
