/**
 * Opening lblab's pictures in a real browser: Debian's headless Chromium (installed by
 * `scripts/setup-host.sh --tests`) driven through puppeteer-core, which brings no browser of its own.
 * Screenshots go to test-output/screenshots/ so a CI run keeps what the browser showed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Page } from 'puppeteer-core';
import { PROJECT_ROOT } from './cli.js';

export const SCREENSHOTS = path.join(PROJECT_ROOT, 'test-output', 'screenshots');
const CHROMIUM = process.env.LBLAB_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Opens `file` (an .svg or .html on disk) in headless Chromium, runs `inspect` on the page, saves a
 * full-page screenshot as `screenshot` (a .png name) and returns what `inspect` returned. Any request
 * the page makes beyond its own file fails the test: the pictures must be self-contained.
 */
export async function inBrowser<T>(
  file: string,
  screenshot: string,
  inspect: (page: Page) => Promise<T>,
): Promise<{ result: T; screenshotPath: string; fetched: string[] }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/setup-host.sh --tests (it installs Debian's chromium)`,
    );
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI: Chromium's own sandbox needs user namespaces it may not get; the page is our own file.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
    timeout: 60_000,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const own = pathToFileURL(path.resolve(file)).href;
    const fetched: string[] = [];
    page.on('request', (request) => {
      if (request.url() !== own && !request.url().startsWith('data:')) fetched.push(request.url());
    });
    await page.goto(own, { waitUntil: 'load', timeout: 60_000 });
    const result = await inspect(page);
    const screenshotPath = path.join(SCREENSHOTS, screenshot);
    await page.screenshot({ path: screenshotPath as `${string}.png`, fullPage: true });
    return { result, screenshotPath, fetched };
  } finally {
    await browser.close();
  }
}
