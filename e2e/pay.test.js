// Pay (issue 26): a supervisor scores a member's duty checklist on the team
// page (#/team-pay, evidence beside the duties); finance creates a month's
// run, reviews, approves and locks it, then a change answers 409 and the
// page says so, and an adjustment is still taken. The demo locks the two
// months before this one; these journeys use this month (the checklist)
// and the third month back (the run), which nothing else touches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, shot, SHOTS, journey, apiAs } from './lib.js';

async function shots(page, name) {
  await shot(page, `${name}-1366`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}-390.png`) });
  await page.setViewportSize({ width: 1366, height: 768 });
}

function monthsBack(n) {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - n);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

test('a supervisor scores the checklist of a team member, with the evidence beside the duties', () => journey('40-team-pay', async (page) => {
  const month = monthsBack(0);
  await login(page, 'chenjing');
  await page.getByRole('link', { name: '团队薪酬' }).click();
  await page.getByRole('heading', { name: '团队薪酬' }).waitFor();
  await page.goto(`${page.url().split('#')[0]}#/team-pay?month=${month}`);
  const member = page.getByTestId('member').first();
  await member.waitFor();
  const uid = Number(await member.getAttribute('data-user'));
  // Duties 1, 4 and 7 show the facts keqing has.
  assert.ok(await member.getByTestId('evidence').count() >= 3);
  const inputs = member.locator('input.score');
  assert.equal(await inputs.count(), 10);
  await inputs.nth(0).fill('90');
  await inputs.nth(1).fill('70');
  await member.getByRole('button', { name: '空项填 100' }).click();
  await member.getByTestId('checklist-save').click();
  // 100 × 0.9 + 100 × 0.7 + 8 × 100 = 960.00 with the default duties.
  await page.waitForFunction((el) => el.textContent.includes('960.00'), await member.getByTestId('member-soft').elementHandle());
  const api = await apiAs('chenjing');
  const r = await api(`/pay/checklist?month=${month}`);
  const me = r.body.members.find((m) => m.user_id === uid);
  assert.equal(me.soft, '960.00');
  assert.deepEqual(me.scores.slice(0, 2), [{ no: 1, score: 90 }, { no: 2, score: 70 }]);
  await shots(page, '40-team-pay');
}));

test('finance approves and locks a run; a change then answers 409 and the page says so', () => journey('41-pay-run', async (page) => {
  const month = monthsBack(3);
  await login(page, 'hejuan');
  await page.getByRole('link', { name: '薪酬', exact: true }).click();
  await page.getByRole('heading', { name: '薪酬', exact: true }).waitFor();
  await page.getByTestId('run-month').fill(month);
  await page.getByTestId('run-create').click();
  await page.getByTestId('pay-lines').waitFor();
  const status = page.getByTestId('run-status');
  assert.equal(await status.getAttribute('data-status'), 'draft');
  // Every line shows its formula.
  const formula = await page.locator('code.formula').first().textContent();
  assert.match(formula, /^P = A \+ B \+ C = /);
  await page.getByTestId('run-review').click();
  await page.locator('[data-testid=run-status][data-status=reviewed]').waitFor();
  await page.getByTestId('run-approve').click();
  await page.locator('[data-testid=run-status][data-status=approved]').waitFor();
  await page.getByTestId('run-lock').click();
  await page.locator('[data-testid=run-status][data-status=locked]').waitFor();
  // A locked run never changes: recompute is refused and the page says why.
  await page.getByTestId('run-recompute').click();
  const msg = page.getByTestId('pay-msg');
  await msg.getByRole('alert').waitFor();
  assert.match(await msg.textContent(), /已锁定/);
  // The API says 409 too.
  const api = await apiAs('hejuan');
  const runs = (await api('/pay/runs')).body.items;
  const run = runs.find((r) => r.month === month);
  const r = await api(`/pay/runs/${run.id}/recompute`, { method: 'POST', body: JSON.stringify({ version: run.version }) });
  assert.equal(r.status, 409);
  // The correction is an adjustment line.
  await page.getByTestId('adj-amount').fill('-50.00');
  await page.getByTestId('adj-reason').fill('e2e 扣回多发');
  await page.getByTestId('adj-submit').click();
  await page.locator('tr.adjustment').first().waitFor();
  assert.equal(await status.getAttribute('data-status'), 'locked');
  await shots(page, '41-pay-run');
  // The scorecard's weights must add up to 100: the page shows the server's words.
  await page.getByRole('link', { name: '← 全部工资单' }).click();
  await page.getByTestId('items-save').waitFor();
  const w = page.getByTestId('item-weight-area_sales');
  await w.fill(String(Number(await w.inputValue()) + 1));
  await page.getByTestId('items-save').click();
  await page.getByTestId('settings-msg').getByRole('alert').waitFor();
  assert.match(await page.getByTestId('settings-msg').textContent(), /101/);
}));
