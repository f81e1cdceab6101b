// Loads a page in Debian's Chromium through playwright-core and prints what the tests assert
// about its layout as JSON: the document's width against the viewport (no sideways scrolling),
// and the number of points drawn in the history chart. Usage: node measure.mjs URL WIDTH HEIGHT
import { chromium } from 'playwright-core';

const [url, width, height] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
  const response = await page.goto(url);
  const measured = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    historyPoints: document.querySelectorAll('svg.history circle').length,
    bars: [...document.querySelectorAll('svg.breakdown g.bar-row')].map(g => g.getAttribute('data-group')),
    scripts: document.querySelectorAll('script').length,
  }));
  measured.status = response.status();
  measured.csp = response.headers()['content-security-policy'] ?? null;
  console.log(JSON.stringify(measured));
} finally {
  await browser.close();
}
