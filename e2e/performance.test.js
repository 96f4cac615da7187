// 我的业绩 and the company dashboard (issue 26): a manager's targets, the
// completion chart drawn, points ahead or behind, the pay slip or its
// absence; a director landing on the dashboard with its charts drawn; a
// supervisor's team section. The demo fills the targets (keqing-demo's
// targets.rs); the figures shown are checked against the API's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { login, shot, SHOTS, journey, apiAs } from './lib.js';

/** Both widths of a page: 1366 px, then 390 px (a phone), then back. */
async function shots(page, name) {
  await shot(page, `${name}-1366`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}-390.png`) });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 400, `nothing wider than the phone's screen (${wide} px)`);
  await page.setViewportSize({ width: 1366, height: 768 });
}

/** A chart box that has drawn its SVG. */
async function drawn(page, testid) {
  await page.locator(`[data-testid=${testid}][data-state=drawn] svg`).first().waitFor({ timeout: 20000 });
}

test('a manager sees their targets, the completion chart, points ahead and the pay slip', () => journey('b1-my-performance', async (page) => {
  const api = await apiAs('wangfang');
  const me = (await api('/auth/me')).body;
  const year = new Date().getFullYear();
  const month = (await api('/performance?level=user&metric=sales_amount')).body;
  const targets = (await api(`/targets?year=${year}&level=user&subject_id=${me.id}&metric=sales_amount`)).body;
  assert.equal(targets.items.length, 1, 'the demo gives 王芳 a sales target this year');
  await login(page, 'wangfang');
  await page.getByRole('link', { name: '我的业绩' }).click();
  await page.getByRole('heading', { name: '我的业绩', level: 1 }).waitFor();
  // This month's figures, as the API gives them.
  const plan = page.getByTestId('kpi-month-plan');
  await plan.waitFor();
  assert.equal(await plan.getAttribute('data-value'), month.plan ?? '');
  assert.equal(await page.getByTestId('kpi-month-actual').getAttribute('data-value'), month.actual ?? '');
  // Points ahead: green when ahead of the calendar, red when behind.
  const badge = page.getByTestId('kpi-month').getByTestId('points-ahead');
  const ahead = Number(month.points_ahead) >= 0;
  assert.equal(await badge.getAttribute('data-ahead'), String(ahead));
  assert.match(await badge.textContent(), ahead ? /领先 [\d.]+ 个百分点/ : /落后 [\d.]+ 个百分点/);
  assert.match(await badge.getAttribute('class'), ahead ? /badge-ahead/ : /badge-behind/);
  // The year's cumulative chart is drawn.
  await drawn(page, 'perf-chart');
  // The target of the year, its months.
  await page.getByTestId('target').first().waitFor();
  // The pay slip, or 尚未核算 when this month has no run yet.
  const slip = await api(`/pay/slip?month=${new Date().toISOString().slice(0, 7)}`);
  if (slip.status === 200) await page.getByTestId('pay-slip').waitFor();
  else await page.getByTestId('no-slip').filter({ hasText: '尚未核算' }).waitFor();
  // Another metric: visits.
  const visits = (await api('/performance?level=user&metric=visits')).body;
  await page.getByTestId('perf-metric').selectOption('visits');
  await page.waitForURL(/metric=visits/);
  await page.locator(`[data-testid=kpi-month-plan][data-value="${visits.plan}"]`).waitFor();
  await drawn(page, 'perf-chart');
  await shots(page, 'b1-my-performance');
  // A manager cannot read someone else's figures.
  const other = [...(await api('/users')).body.items].find((u) => u.id !== me.id && u.role === 'manager');
  if (other) assert.equal((await api(`/performance?level=user&subject_id=${other.id}`)).status, 403);
}));

test('a director lands on the company dashboard with its charts drawn', () => journey('b2-dashboard', async (page) => {
  const api = await apiAs('zhaomin');
  const year = new Date().getFullYear();
  const company = (await api(`/targets?year=${year}&level=company&metric=sales_amount`)).body.items[0];
  assert.ok(company, 'the demo sets a company sales target');
  assert.equal(company.revisions.at(-1).reason, '市局修正任务');
  await login(page, 'zhaomin');
  await page.getByRole('heading', { name: '经营看板', level: 1 }).waitFor();
  assert.match(page.url(), /#\/dashboard/);
  await page.getByTestId('dash-kpi').waitFor();
  await drawn(page, 'by-team-chart');
  await drawn(page, 'by-region-chart');
  await drawn(page, 'trend-chart');
  const board = page.getByTestId('leaderboard');
  await board.waitFor();
  const rows = await board.locator('tbody tr').count();
  assert.ok(rows >= 1 && rows <= 11, `top 10 (and the caller): ${rows}`);
  await page.getByTestId('by-team').locator('tbody tr').first().waitFor();
  // The period and the metric pickers redraw.
  const whole = (await api(`/performance?level=company&metric=sales_amount&from=${year}-01-01&to=${year}-12-31`)).body;
  await page.getByTestId('dash-period').selectOption('year');
  await page.waitForURL(/period=year/);
  await page.locator(`[data-testid=dash-kpi-plan][data-value="${whole.plan}"]`).waitFor();
  await drawn(page, 'by-team-chart');
  await drawn(page, 'trend-chart');
  await shots(page, 'b2-dashboard');
  // Finance reads it too; a manager lands on their day and has no dashboard link.
}));

test('a supervisor sees the team section with a link to score the checklist', () => journey('b3-team', async (page) => {
  await login(page, 'chenjing');
  await page.getByRole('link', { name: '经营看板' }).click();
  await page.getByRole('heading', { name: '经营看板', level: 1 }).waitFor();
  await page.getByTestId('dash-kpi').waitFor();
  assert.equal(await page.getByTestId('team-pay-link').getAttribute('href'), '#/team-pay');
  await page.getByTestId('leaderboard').locator('tbody tr').first().waitFor();
  await drawn(page, 'trend-chart');
  // The team's people are 陈静's team only.
  const text = await page.getByTestId('leaderboard').textContent();
  assert.match(text, /王芳/);
  assert.doesNotMatch(text, /周强/);
  await shots(page, 'b3-team');
}));

test('finance reads the dashboard; a manager has none', async () => {
  const finance = await apiAs('hejuan');
  assert.equal((await finance('/performance/board?level=team&metric=sales_amount')).status, 200);
  const manager = await apiAs('wangfang');
  const board = await manager('/performance/board?level=user&metric=sales_amount');
  // A manager's board is their own row at most (scope: own).
  if (board.status === 200) assert.ok(board.body.items.length <= 1);
});
