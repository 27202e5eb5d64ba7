import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { useRedis } from '../libs/cache/test/harness';
import { startSampleApp } from './sample-app';

/** The one DOM call the page functions below make (they run in the browser; the project has no DOM typings). */
declare const document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null };

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it when it is missing), or CHROMIUM_PATH. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAS_BROWSER = existsSync(CHROMIUM);
/** docs/dashboard.png only when asked (`UPDATE_SCREENSHOT=1`): a test run must not change the working tree. */
const screenshotPath = (): string =>
  process.env.UPDATE_SCREENSHOT === '1'
    ? path.join(__dirname, '..', 'docs', 'dashboard.png')
    : path.join(mkdtempSync(path.join(tmpdir(), 'strata-dashboard-')), 'dashboard.png');

if (!HAS_BROWSER) {
  process.stdout.write(
    `\n*** SKIPPED: the dashboard e2e test needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH) ***\n\n`,
  );
}
/**
 * What each chart must show before the screenshot: data points drawn and a largest value above 0
 * (`data-points`, `data-max`, set by charts.js). Latency: 4 tiers × 3 percentiles, L1 included (sampled
 * 1 in 64, so it takes traffic). Semantic hits stay empty until the AI cache reports some.
 */
const CHARTS: Record<string, number> = { hitRateChart: 3, latencyChart: 12, memoryChart: 3, keysChart: 5, tagsChart: 3, savedChart: 3, documentsChart: 2 };
const PDF = readFileSync(path.join(__dirname, '..', 'apps', 'sample', 'samples', 'contract.pdf')).toString('base64');

/** The dashboard in a real browser, against the sample app on Redis with traffic flowing. */
(HAS_BROWSER ? describe : describe.skip)('sample app: /dashboard in headless Chromium', () => {
  const redis = useRedis();
  let app: INestApplication;
  let base: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await startSampleApp({ REDIS_URL: redis.url });
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('draws every chart from live data, and takes a screenshot (docs/dashboard.png with UPDATE_SCREENSHOT=1)', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    // Traffic while the page polls: hot reports (L1 hits), cold ones (misses), invalidations, summaries.
    // Bounded in rounds; stops as soon as the charts are drawn.
    let drawn = false;
    const traffic = (async () => {
      // Real document work, then a hit that saves it (the document work chart).
      const upload = () => fetch(`${base}/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contentBase64: PDF }) });
      await upload();
      await upload();
      for (let round = 0; round < 300 && !drawn; round++) {
        const calls = Array.from({ length: 12 }, (_, i) => fetch(`${base}/reports/${(round + i) % 6}`));
        calls.push(fetch(`${base}/reports/cold-${round}`));
        if (round % 10 === 5) calls.push(fetch(`${base}/reports/${round % 6}/cache`, { method: 'DELETE' }));
        if (round % 10 === 0) calls.push(fetch(`${base}/reports/${round % 6}/summary`));
        await Promise.all(calls);
      }
    })();

    await page.goto(`${base}/dashboard?interval=200`);
    const ready = (wanted: Record<string, number>) =>
      Object.entries(wanted).every(([id, points]) => {
        const canvas = document.getElementById(id);
        return Number(canvas?.dataset.points ?? 0) >= points && Number(canvas?.dataset.max ?? 0) > 0;
      });
    await page.waitForFunction(ready, CHARTS, { timeout: 40_000, polling: 100 });
    drawn = true;
    await traffic;

    expect(await page.evaluate(ready, CHARTS)).toBe(true);
    expect(Number(await page.getAttribute('#semanticChart', 'data-points'))).toBe(0);
    expect(await page.textContent('#state')).toBe('closed');
    expect(await page.textContent('#tiers')).toBe('L1 + L2');
    expect(errors).toEqual([]);
    const screenshot = screenshotPath();
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    process.stdout.write(`dashboard screenshot: ${screenshot}\n`);
  }, 180_000);
});
