/**
 * Self time by function and by area (strata, ioredis, GC…) of a `--cpu-prof` profile: `node bench/profile-top.js file.cpuprofile [rows]`.
 * Samples under module loading (ts-node compiling, require) are left out, so the shares are of the measured work.
 */
const fs = require('node:fs');
const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const child of n.children || []) parent.set(child, n.id);
const loading = new Map();
const isLoading = (id) => {
  if (loading.has(id)) return loading.get(id);
  const url = nodes.get(id).callFrame.url;
  const up = parent.get(id);
  const result = /typescript\/|ts-node|cjs\/loader|tsconfig-paths/.test(url) || (up !== undefined && isLoading(up));
  loading.set(id, result);
  return result;
};
const self = new Map();
let total = 0;
let skipped = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] || 0;
  if (isLoading(id)) return void (skipped += delta);
  const frame = nodes.get(id).callFrame;
  total += delta;
  const url = frame.url.replace(/.*node_modules\//, '').replace(/.*?(libs|bench|test)\//, '$1/');
  const key = `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) || 0) + delta);
});
const area = (key) =>
  key.includes('libs/cache') ? 'strata' : key.includes('ioredis/') ? 'ioredis' : key.includes('lz4-napi') ? 'lz4' :
  key.startsWith('(garbage') ? 'GC' : key.startsWith('(idle)') ? 'idle' : key.includes('node:') ? 'node internals' : 'other';
const areas = new Map();
for (const [key, time] of self) areas.set(area(key), (areas.get(area(key)) || 0) + time);
const pct = (t) => `${((100 * t) / total).toFixed(1)}%`;
console.log(`(${((100 * skipped) / (skipped + total)).toFixed(0)}% of samples were module loading, left out) ` + [...areas].sort((a, b) => b[1] - a[1]).map(([k, t]) => `${k} ${pct(t)}`).join(', '));
for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3]) || 25)) console.log(pct(time).padStart(6), key);
