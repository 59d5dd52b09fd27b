// The command round trip through the dashboard as a person sees it in a real
// browser (Debian's chromium via playwright-core): click a toggle, see its
// answer. One tab with a camera open (the baseline), then five tabs of the
// same browser, each with a camera open, the click in each in turn.
//   node bench/tabs.mjs URL USER PASSWORD ROUNDS  ->  one JSON line
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, user, pass, roundsArg] = process.argv.slice(2);
const base = url.replace(/\/$/, '');
const rounds = Number(roundsArg || 20);
const sleep = ms => new Promise(r => setTimeout(r, ms));
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const out = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  await page.goto(base + '/login');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', pass);
  await Promise.all([page.waitForURL(base + '/'), page.click('button[type=submit]')]);
  const open = async t => {
    await t.locator('section.card[data-device="cellar-cam"] button', { hasText: 'Open' }).click();
    await t.locator('section.card[data-device="cellar-lights"] button[data-control="light"]:not([disabled])').waitFor();
  };
  const toggle = async t => {
    await t.bringToFront();
    return t.locator('section.card[data-device="cellar-lights"] button[data-control="light"]').evaluate(b => new Promise(done => {
      const span = b.closest('.row').querySelector('.result');
      span.textContent = ''; span.className = 'result';
      const t0 = performance.now();
      new MutationObserver((_, o) => {
        if (/\b(ok|bad)\b/.test(span.className)) { o.disconnect(); done(span.classList.contains('ok') ? performance.now() - t0 : -1); }
      }).observe(span, { attributes: true });
      setTimeout(() => done(-1), 10000);
      b.click();
    }));
  };
  const measure = async tabs => {
    const ms = [];
    for (let i = 0; i < rounds; i++) { ms.push(await toggle(tabs[i % tabs.length])); await sleep(100); }
    const ok = ms.filter(x => x >= 0);
    return { n: ms.length, failed: ms.length - ok.length, p50_ms: +pct(ok, 0.5).toFixed(1), p90_ms: +pct(ok, 0.9).toFixed(1),
             max_ms: +Math.max(...ok).toFixed(1) };
  };
  await open(page);
  await sleep(1000);
  out.one_tab = await measure([page]);
  const tabs = [page];
  for (let i = 1; i < 5; i++) { const t = await context.newPage(); await t.goto(base + '/'); await open(t); tabs.push(t); }
  await sleep(1000);
  out.five_tabs = await measure(tabs);
} catch (e) {
  out.skipped = 'the browser run failed: ' + e.message.split('\n')[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
