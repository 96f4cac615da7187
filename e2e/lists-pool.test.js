// The customer list's filters, the slipping-away ones, a search of several
// words, release to the pool and a bulk transfer with a reason, and the
// pool's rules on the administration page (issue 25). Each journey saves
// screenshots at 1366 and 390 px and fails on a script error or a request
// to another host. The customers it changes are picked by filters, never by
// name, and are not those journeys.test.js uses (that file runs first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, shot, SHOTS, journey, apiAs } from './lib.js';

/** Both widths of a page: 1366 px, then 390 px (a phone), then back. */
async function shots(page, name) {
  await shot(page, `${name}-1366`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  // What a phone shows: the screen, not the whole page.
  await page.screenshot({ path: join(SHOTS, `${name}-390.png`) });
  await page.setViewportSize({ width: 1366, height: 768 });
}

/** The list's rows as data: id, province, P(alive), last purchase, name, owner. */
async function rows(page) {
  return page.locator('tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => ({
    id: Number(tr.dataset.id),
    province: tr.dataset.province,
    pAlive: tr.querySelector('[data-p-alive]').dataset.pAlive,
    lastOrder: tr.querySelector('[data-last-order]').dataset.lastOrder,
    name: tr.querySelector('a').textContent,
    text: tr.textContent,
  })));
}

/** Waits until the list has at least `min` rows and every one passes `check`. */
async function rowsWhere(page, check, min = 1, whole = () => true) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const r = await rows(page).catch(() => []);
    if (r.length >= min && r.every(check) && whole(r)) return r;
    if (Date.now() > deadline) assert.fail(`rows never matched: ${JSON.stringify(r.slice(0, 5))}`);
    await page.waitForTimeout(100);
  }
}

test('a supervisor filters by province, by P(alive) sorted by the last purchase, searches two words, releases one customer and transfers two', () => journey('20-lists-pool', async (page) => {
  await login(page, 'chenjing');
  await page.getByRole('link', { name: '客户', exact: true }).click();
  await page.getByTestId('customer-search').waitFor();
  // 区域 offers the provinces of the caller's customers, 安徽 and 山东 too.
  const region = page.getByLabel('区域', { exact: true });
  await page.locator('[data-testid=region-filter][data-loaded=true]').waitFor({ state: 'attached' });
  const options = await region.locator('option').allTextContents();
  for (const p of ['江苏', '安徽', '山东']) assert.ok(options.includes(p), options.join());
  await region.selectOption('安徽');
  await rowsWhere(page, (r) => r.province === '安徽');
  assert.match(await page.evaluate(() => location.hash), /region=%E5%AE%89%E5%BE%BD/);
  await region.selectOption('');

  // P(alive) below 30%, the longest without a purchase first.
  await page.getByLabel('仍活跃概率', { exact: true }).selectOption({ label: '低于 30%' });
  await page.getByLabel('排序').selectOption({ label: '最久未购买' });
  // The list redraws once per change: wait for the sorted one, not the
  // filtered one before it.
  await page.waitForFunction(() => /sort=purchase/.test(location.hash));
  const sorted = (rs) => rs.every((r, i) => i === 0 || rs[i - 1].lastOrder <= r.lastOrder);
  const slipping = await rowsWhere(page, (r) => r.pAlive !== '' && Number(r.pAlive) < 0.3, 2, sorted);
  const dates = slipping.map((r) => r.lastOrder);
  assert.ok(dates.every((d) => d), dates.join());
  assert.deepEqual([...dates].sort(), dates, 'the longest without a purchase first');
  await shots(page, '20-list-slipping');

  // Two words, each must match.
  await page.getByRole('button', { name: '清除筛选' }).click();
  await page.getByTestId('customer-search').fill('江苏 钢业');
  await rowsWhere(page, (r) => r.name.includes('江苏') && r.name.includes('钢业'));
  await page.getByRole('button', { name: '清除筛选' }).click();

  // One customer slipping away, picked by a filter: no purchase for a year,
  // P(alive) below 10%, owned; released from its page with a reason.
  await page.getByLabel('仍活跃概率', { exact: true }).selectOption({ label: '低于 10%' });
  await page.getByLabel('未购买至少').selectOption({ label: '365 天' });
  await page.getByLabel('排序').selectOption({ label: '最久未购买' });
  // Each change redraws the list: wait for the last one's (all three in the
  // address, rows sorted), or the row read may be gone before the click.
  await page.waitForFunction(() => /no_purchase_days=365/.test(location.hash) && /sort=purchase/.test(location.hash));
  await rowsWhere(page, (r) => Number(r.pAlive) < 0.1, 3, sorted);
  const owned = page.locator('tbody tr[data-id]').filter({ hasNotText: '公海' });
  const first = owned.first();
  const name = await first.locator('a').first().textContent();
  await first.locator('a').first().click();
  await page.getByTestId('customer-name').filter({ hasText: name }).waitFor();
  await page.getByTestId('release-to-pool').click();
  const dialog = page.getByTestId('release-dialog');
  await dialog.waitFor();
  // A reason is required.
  await dialog.getByRole('button', { name: '确认退回' }).click();
  await dialog.getByText('请填写原因').waitFor();
  await dialog.getByLabel('退回原因').fill('客户已停业，转入公海');
  await shots(page, '21-release-dialog');
  await dialog.getByRole('button', { name: '确认退回' }).click();
  await page.getByText('已退回公海 1 个客户').waitFor();
  await page.getByTestId('release-to-pool').waitFor({ state: 'detached' });
  const id = Number(new URL(page.url()).hash.split('/')[2]);
  const sup = await apiAs('chenjing');
  const log = (await sup(`/customers/${id}/ownership`)).body.items;
  assert.equal(log.at(-1).reason, 'release');
  assert.equal(log.at(-1).note, '客户已停业，转入公海');

  // Two more of them, transferred in bulk to 李磊 with a reason.
  await page.goBack();
  await rowsWhere(page, (r) => Number(r.pAlive) < 0.1, 3);
  const two = page.locator('tbody tr[data-id]').filter({ hasNotText: '公海' }).filter({ hasNotText: '李磊' });
  const ids = [];
  for (const i of [0, 1]) {
    const row = two.nth(i);
    ids.push(Number(await row.getAttribute('data-id')));
  }
  for (const cid of ids) await page.locator(`tbody tr[data-id="${cid}"]`).getByRole('checkbox').check();
  const bar = page.getByRole('region', { name: '批量移交' });
  await bar.getByRole('button', { name: /移交所选 2 个客户/ }).click();
  await bar.getByText('请选择移交给谁').waitFor();
  await bar.getByLabel('移交给').selectOption({ label: '李磊' });
  await bar.getByRole('button', { name: /移交所选 2 个客户/ }).click();
  await bar.getByText('请填写原因').waitFor();
  await bar.getByLabel('原因').fill('区域调整');
  await bar.getByRole('button', { name: /移交所选 2 个客户/ }).click();
  const confirm = page.getByTestId('transfer-dialog');
  await confirm.getByText('移交给 李磊').waitFor();
  await shots(page, '22-transfer-confirm');
  await confirm.getByRole('button', { name: '确认移交' }).click();
  await page.getByText('已移交 2 个客户').waitFor();
  for (const cid of ids) {
    const items = (await sup(`/customers/${cid}/ownership`)).body.items;
    assert.equal(items.at(-1).note, '区域调整');
  }
}));

test('an administrator changes the claim limit and a claim beyond it is refused', () => journey('23-pool-rules', async (page) => {
  const admin = await apiAs('admin');
  const before = (await admin('/pool/rules')).body;
  try {
    await login(page, 'admin');
    await page.getByRole('link', { name: '管理', exact: true }).click();
    await page.getByRole('link', { name: '公海规则' }).click();
    const form = page.getByTestId('pool-rules');
    await form.getByLabel('认领上限（每人客户数）').fill('0');
    await form.getByRole('button', { name: '保存' }).click();
    await form.getByText(/认领上限应为1到/).waitFor();
    await form.getByLabel('认领上限（每人客户数）').fill('5');
    await form.getByLabel('D 类客户天数').fill('20');
    await form.getByRole('button', { name: '保存' }).click();
    await page.getByTestId('pool-rules-summary').filter({ hasText: '每人最多 5 个客户' }).waitFor();
    await page.getByText('D 类 20 天').waitFor();
    await shots(page, '23-pool-rules');
    // Applied: 王芳 owns more than 5, so a claim from the pool is refused with the new limit.
    const wang = await apiAs('wangfang');
    const pool = (await wang('/pool?per_page=1')).body.items;
    assert.ok(pool.length, 'a customer in the pool');
    const r = await wang(`/customers/${pool[0].id}/claim`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(r.body.message, /上限 5/);
    await page.reload();
    await page.getByTestId('pool-rules-summary').filter({ hasText: '每人最多 5 个客户' }).waitFor();
  } finally {
    const back = await admin('/pool/rules', { method: 'PUT', body: JSON.stringify(before) });
    assert.equal(back.status, 200);
  }
}));
