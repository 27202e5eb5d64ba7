/**
 * A child process serving `/items/:id` through the cache (see http-app.ts), for specs that must watch
 * a whole process: it counts unhandled promise rejections on its real `process` (Jest swallows them in
 * its own workers). Options come as JSON in CACHE_OPTIONS. Over IPC:
 *   ← { type: 'ready', port, startupMs }
 *   → { type: 'probe' }   makes one unhandled rejection on purpose (so the counter is known to work)
 *   → { type: 'stats' }   ← { type: 'stats', unhandled, stats, calls } (calls: factory runs per key)
 */
import 'reflect-metadata';
import { startHttpApp } from './http-app';

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));

async function main(): Promise<void> {
  const started = performance.now();
  const app = await startHttpApp(JSON.parse(process.env.CACHE_OPTIONS ?? '{}'));
  const startupMs = performance.now() - started;
  process.on('message', (command: { type: string }) => {
    if (command.type === 'probe') void Promise.reject(new Error('probe'));
    if (command.type === 'stats') process.send?.({ type: 'stats', unhandled, stats: app.cache.stats(), calls: Object.fromEntries(app.source.calls) });
  });
  process.send?.({ type: 'ready', port: Number(new URL(app.baseUrl).port), startupMs });
}

void main();
