// `npm pack` / `npm publish` in libs/cache: the package ships the repository's README and LICENSE, and a build.
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const root = path.join(here, '..', '..');
if (!fs.existsSync(path.join(here, 'dist', 'index.js'))) {
  console.error('libs/cache/dist is missing: run `npm run build:lib` at the repository root before packing.');
  process.exit(1);
}
for (const file of ['README.md', 'LICENSE']) fs.copyFileSync(path.join(root, file), path.join(here, file));

// The generated WordNet lexicon is one 0.8 MB string: a source map of it (its source inlined, as every map's
// is) would ship it twice for nothing to debug, so the package leaves that map out.
const lexicon = path.join(here, 'dist', 'ai', 'semantic', 'lexicon.data.js');
if (fs.existsSync(`${lexicon}.map`)) {
  fs.rmSync(`${lexicon}.map`);
  fs.writeFileSync(lexicon, fs.readFileSync(lexicon, 'utf8').replace(/\n\/\/# sourceMappingURL=lexicon\.data\.js\.map\s*$/, '\n'));
}
