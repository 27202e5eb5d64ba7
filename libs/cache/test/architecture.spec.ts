import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/**
 * The layers of the library (docs/ARCHITECTURE.md), checked by dependency-cruiser with the rules of
 * .dependency-cruiser.js: no import cycles, core/ and ports/ import nothing above them, only redis/
 * imports ioredis, the adapters know nothing of the engine and the engine no adapter, only http/ knows
 * Express and Fastify.
 */
describe('architecture', () => {
  it('libs/cache/src keeps its layers: dependency-cruiser finds no violation', async () => {
    const bin = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(bin, ['--config', '.dependency-cruiser.js', '--output-type', 'err', 'libs/cache/src'], { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: `${stdout}${stderr}` }),
      );
    });
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  }, 150_000);
});
