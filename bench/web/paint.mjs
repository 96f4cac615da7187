// First paint of the login page and of "my day" after logging in, and the bytes
// a first load transfers, in Debian's Chromium driven by playwright-core.
// playwright-core is installed in e2e/ (e2e/run.sh or npm ci there).
const { chromium } = await import(new URL('../../e2e/node_modules/playwright-core/index.mjs', import.meta.url));

const base = process.argv[2];
const [user, password] = [process.argv[3], process.argv[4]];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
let bytes = 0;
page.on('response', async (r) => {
  const len = Number((await r.allHeaders())['content-length'] || 0);
  bytes += len;
});
const fcp = async () => page.evaluate(() => new Promise((done) => {
  const e = performance.getEntriesByName('first-contentful-paint')[0];
  if (e) return done(e.startTime);
  new PerformanceObserver((l) => done(l.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
}));
const t0 = Date.now();
await page.goto(base + '/', { waitUntil: 'load' });
const loginPaint = await fcp();
const loginBytes = bytes;
await page.getByLabel(/用户名|Username/).fill(user);
await page.getByLabel(/密码|Password/).fill(password);
const t1 = Date.now();
await page.getByRole('button', { name: /登录|Log in/ }).click();
await page.getByRole('heading', { name: /我的一天|My day/ }).waitFor();
await page.waitForLoadState('networkidle');
const dayMs = Date.now() - t1;
console.log(`login page: first contentful paint ${loginPaint.toFixed(0)} ms, ${(loginBytes / 1024).toFixed(1)} KiB transferred (compressed), load ${Date.now() - t0 - dayMs} ms`);
console.log(`my day after login: shown in ${dayMs} ms; total transferred ${(bytes / 1024).toFixed(1)} KiB`);
await browser.close();
