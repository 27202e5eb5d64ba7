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
