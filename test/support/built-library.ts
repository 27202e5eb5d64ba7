import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../libs/cache/test/harness';

export const REPO = join(__dirname, '..', '..');
export const LIB = join(REPO, 'libs', 'cache');
export const DIST = join(LIB, 'dist');

const BUILD_TIMEOUT_MS = 4 * 60_000;

function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);
}

function fresh(): boolean {
  const entry = join(DIST, 'index.js');
  return existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(LIB, 'src'));
}

/**
 * libs/cache/dist as `npm run build:lib` makes it: CI builds first, a lone `npm test` (or a build older than
 * the sources) builds here. Specs in other Jest workers wait on a lock directory instead of building twice.
 */
export async function ensureBuiltLibrary(): Promise<void> {
  const lock = join(LIB, '.build.lock');
  while (!fresh()) {
    try {
      mkdirSync(lock);
    } catch {
      // A lock left by a run that was killed mid-build is older than any build takes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > BUILD_TIMEOUT_MS) rmSync(lock, { recursive: true, force: true });
      await waitFor(() => !existsSync(lock), { timeoutMs: BUILD_TIMEOUT_MS, message: 'the library build of another test worker' });
      continue;
    }
    try {
      if (!fresh()) {
        await promisify(execFile)('npm', ['run', 'build:lib'], { cwd: REPO, maxBuffer: 32 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string }) => {
          throw new Error(`npm run build:lib failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
        });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
