/**
 * Property-based specs (fast-check) draw from one fixed seed, so every run of `npm test` checks the same
 * cases and a failure repeats. `FC_SEED=<n> npm test` tries another seed, `FC_SEED=random` a new one per run.
 */
const fc = require('fast-check');

const seed = process.env.FC_SEED;
if (seed !== 'random') fc.configureGlobal({ seed: seed === undefined ? 20261204 : Number(seed) });
