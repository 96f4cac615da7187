// Shared by the journeys: Debian's Chromium through playwright-core, a login
// helper, and guards that fail a journey on a script error or on any request
// to a host other than the server under test.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE = process.env.KEQING_URL || 'http://127.0.0.1:18090';
export const PASSWORD = 'keqing-demo-2026';
const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'keqing-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 768 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  const origin = new URL(BASE).origin;
  const offsite = [];
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text()); });
  };
  browser.on('request', (r) => {
    const u = r.url();
    if (/^(data|blob|about):/.test(u)) return;
    if (new URL(u).origin !== origin) offsite.push(u);
  });
  browser.on('page', watch);
  for (const p of browser.pages()) watch(p);
  const page = browser.pages()[0] || await browser.newPage();
  return {
    browser, page, offsite, errors,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function login(page, username) {
  await page.goto(`${BASE}/#/login`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  // Directors and administrators land on the dashboard, the others on their day.
  await page.getByRole('heading', { level: 1, name: /^(我的一天|经营看板)$/ }).waitFor();
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Runs a journey in a fresh browser (`width` px wide) and checks the guards
 * afterwards: no script error, no request to another host, and every
 * visible input on the page it ends on labelled.
 */
export async function journey(name, fn, { width = 1366 } = {}) {
  const s = await launch();
  let unlabelled = [];
  try {
    if (width !== 1366) await s.page.setViewportSize({ width, height: 844 });
    await fn(s.page, s);
    await shot(s.page, name);
    unlabelled = await s.page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 80)));
  } catch (e) {
    await shot(s.page, `${name}-FAILED`).catch(() => {});
    throw e;
  } finally {
    await s.close();
  }
  assert.deepEqual(s.offsite, [], 'requests to other hosts');
  assert.deepEqual(s.errors, [], 'script errors');
  assert.deepEqual(unlabelled, [], 'inputs without a label');
}

/** The JSON API as a user, from node (for setting up and checking). */
export async function apiAs(username) {
  const r = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  return async (path, opts = {}) => {
    const res = await fetch(`${BASE}/api/v1${path}`, {
      ...opts,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(opts.headers || {}) },
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
}
