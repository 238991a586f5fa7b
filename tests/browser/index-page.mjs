// index-page.mjs URL TOKEN SCREENSHOT: open the index page in Debian's headless Chromium (driven
// by playwright-core; no browser is downloaded), wait for the health line, try the token box,
// save a screenshot, and print what a person would see as one JSON object on stdout.
// tests/integration/test_index_page.py asserts on it.
import { chromium } from 'playwright-core';

const [url, token, shot] = process.argv.slice(2);
if (!url || !shot) {
  console.error('usage: node index-page.mjs URL TOKEN SCREENSHOT.png');
  process.exit(2);
}
const dataDir = (await import('node:fs')).mkdtempSync('/tmp/socialauth-chromium-');
const browser = await chromium.launchPersistentContext(dataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 900, height: 1000 },
  timeout: 30000,
});
try {
  const page = browser.pages()[0] || await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  await page.waitForFunction(() => !document.getElementById('health').textContent.includes('checking'),
                             null, { timeout: 10000 });
  // The Google button's own request finishes independently of health: wait for it too.
  await page.waitForLoadState('networkidle', { timeout: 10000 });
  const google = page.locator('#google');
  const result = {
    title: await page.title(),
    health: await page.locator('#health').textContent(),
    healthClass: await page.locator('#health').getAttribute('class'),
    googleVisible: await google.isVisible(),
    googleHref: await google.getAttribute('href'),
  };
  await page.fill('#token', token || '');
  await page.click('#me');
  await page.waitForFunction(() => document.getElementById('out').textContent.length > 0, null,
                             { timeout: 10000 });
  result.out = await page.locator('#out').textContent();
  result.errors = errors;
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  (await import('node:fs')).rmSync(dataDir, { recursive: true, force: true });
}
