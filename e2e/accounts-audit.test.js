// The journeys of issue 25's accounts and audit log: a user changes their own
// password from the account menu; an administrator resets a password and
// edits a display name on 管理; an administrator filters the audit log by
// user and by action and reads the records by name, the actions in Chinese
// and the old → new values. Each journey makes its own users and customers,
// so the demo's stay as the other journeys expect them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, shot, BASE, PASSWORD, journey } from './lib.js';

const stamp = Date.now().toString(36).slice(-5);

/** The JSON API as a user, from node: (path, {method, body}) → {status, body}. */
async function apiAs(username, password = PASSWORD) {
  const r = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  assert.equal(r.status, 200, `login of ${username}`);
  const { token } = await r.json();
  const call = async (path, { method = 'GET', body } = {}) => {
    const res = await fetch(`${BASE}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
  return call;
}

/** A new manager in 王芳's team, with the demo password. */
async function newManager(admin, username, displayName) {
  const users = (await admin('/users')).body.items;
  const wangfang = users.find((u) => u.username === 'wangfang');
  const r = await admin('/users', {
    method: 'POST',
    body: { username, display_name: displayName, role: 'manager', team_id: wangfang.team_id, password: PASSWORD },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a user changes their own password from the account menu', () => journey('25-password', async (page) => {
  const admin = await apiAs('admin');
  const me = await newManager(admin, `pw_${stamp}`, `改密${stamp}`);
  const elsewhere = await apiAs(me.username);
  await login(page, me.username);
  // The account menu under the name: 修改密码.
  await page.getByTestId('whoami').click();
  await page.getByRole('link', { name: '修改密码' }).click();
  await page.getByRole('heading', { name: '我的账户' }).waitFor();
  assert.match(await page.getByTestId('account-who').textContent(), new RegExp(`改密${stamp}.*客户经理`));
  const form = page.getByTestId('password-form');
  // A wrong current password: said once, under its field, in Chinese only.
  await form.getByLabel('当前密码').fill('not-my-password');
  await form.getByLabel('新密码', { exact: true }).fill('my-new-secret-25');
  await form.getByLabel('再次输入新密码').fill('my-new-secret-25');
  await form.getByRole('button', { name: '修改密码' }).click();
  const wrong = form.locator('.field-error', { hasText: '当前密码不正确' });
  await wrong.waitFor();
  assert.equal((await wrong.textContent()).trim(), '当前密码不正确');
  assert.doesNotMatch(await form.textContent(), /wrong|current password/i, 'no English in the Chinese interface');
  await shot(page, '25-password-wrong');
  // Two new passwords that differ: the browser says so before asking.
  await form.getByLabel('当前密码').fill(PASSWORD);
  await form.getByLabel('再次输入新密码').fill('my-new-secret-26');
  await form.getByRole('button', { name: '修改密码' }).click();
  await form.getByText('两次输入的新密码不一致').waitFor();
  await form.getByLabel('再次输入新密码').fill('my-new-secret-25');
  await form.getByRole('button', { name: '修改密码' }).click();
  await page.getByRole('alert').or(page.locator('.alert-ok')).filter({ hasText: '密码已修改' }).first().waitFor();
  // This session goes on; the other one ended.
  assert.equal((await elsewhere('/auth/me')).status, 401);
  await page.getByRole('link', { name: '客户', exact: true }).click();
  await page.getByRole('heading', { name: '客户' }).first().waitFor();
  await page.getByRole('button', { name: '退出' }).click();
  await page.getByText('您已退出。').waitFor();
  // The old password no longer works; the new one does.
  await page.getByLabel('用户名').fill(me.username);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  const alert = page.getByRole('alert').filter({ hasText: '用户名或密码错误' });
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), '用户名或密码错误', 'the message once, in Chinese only');
  await page.getByLabel('密码').fill('my-new-secret-25');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: '我的一天' }).waitFor();
}));

test('an administrator resets a password and edits a display name', () => journey('25-admin-users', async (page) => {
  const admin = await apiAs('admin');
  const u = await newManager(admin, `rs_${stamp}`, `重置${stamp}`);
  const theirs = await apiAs(u.username);
  await login(page, 'admin');
  await page.goto(`${BASE}/#/admin/users`);
  const row = page.locator(`tr[data-user="${u.username}"]`);
  await row.getByTestId('user-edit-open').click();
  const editor = page.getByTestId('user-edit');
  await editor.getByTestId('ue-display').fill(`新名${stamp}`);
  // The policy, from the server, under the field.
  await editor.getByTestId('ue-password').fill('short');
  await editor.getByRole('button', { name: '保存' }).click();
  const bad = editor.locator('.field-error', { hasText: '密码至少需要8个字符' });
  await bad.waitFor();
  assert.doesNotMatch(await bad.textContent(), /characters/, 'Chinese only');
  await editor.getByTestId('ue-password').fill('reset-by-admin-25');
  await shot(page, '25-admin-user-edit');
  await editor.getByRole('button', { name: '保存' }).click();
  await page.locator(`tr[data-user="${u.username}"]`, { hasText: `新名${stamp}` }).waitFor();
  // Their sessions ended; the new password works and the new name shows.
  assert.equal((await theirs('/auth/me')).status, 401);
  const again = await apiAs(u.username, 'reset-by-admin-25');
  assert.equal((await again('/auth/me')).body.display_name, `新名${stamp}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, '25-admin-users-390');
}));

test('the audit page filtered by user and by action shows names, Chinese actions and old → new values', () => journey('25-audit', async (page) => {
  const admin = await apiAs('admin');
  const u = await newManager(admin, `au_${stamp}`, `审计员${stamp}`);
  const mine = await apiAs(u.username);
  const name = `审计旅程${stamp}有限公司`;
  const created = await mine('/customers', { method: 'POST', body: { name, city: '南京', industry: '纺织' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const changed = await mine(`/customers/${id}`, { method: 'PATCH', body: { version: created.body.version, city: '苏州', tags: ['重点'] } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));

  await login(page, 'admin');
  await page.getByRole('link', { name: '管理', exact: true }).click();
  await page.getByRole('link', { name: '审计日志' }).click();
  await page.getByTestId('audit').waitFor();
  // By user: their login, the creation and the change, newest first.
  await page.getByTestId('audit-user').selectOption(String(u.id));
  await page.getByRole('button', { name: '筛选' }).click();
  await page.waitForURL(new RegExp(`user_id=${u.id}`));
  const table = page.getByTestId('audit');
  await page.getByTestId('audit-total').filter({ hasText: '共 3 条' }).waitFor();
  const actions = await table.locator('tbody tr td:nth-child(3)').allTextContents();
  assert.deepEqual(actions, ['修改', '新建', '登录']);
  const who = await table.locator('tbody tr td:nth-child(2)').allTextContents();
  assert.ok(who.every((w) => w === `审计员${stamp}`), who.join());
  // And by action: the change only, named, old → new.
  await page.getByTestId('audit-action').selectOption('update');
  await page.getByRole('button', { name: '筛选' }).click();
  await page.getByTestId('audit-total').filter({ hasText: '共 1 条' }).waitFor();
  const line = table.locator('tbody tr');
  assert.equal(await line.count(), 1);
  assert.match(await line.locator('td').nth(3).textContent(), new RegExp(`客户 · ${name}`));
  const city = line.locator('li[data-field="city"]');
  assert.equal((await city.textContent()).replace(/\s+/g, ''), '城市：南京→苏州');
  assert.match(await line.locator('li[data-field="tags"]').textContent(), /标签：（空） → 重点/);
  await shot(page, '25-audit-filtered');
  // The record's name: its lines only (created, changed), from every user.
  await line.getByTestId('audit-record').click();
  await page.waitForURL(/entity=customer/);
  await page.getByTestId('audit-total').filter({ hasText: '共 1 条' }).waitFor();
  await page.getByRole('link', { name: '清除筛选' }).click();
  await page.waitForURL(/#\/admin\/audit$/);
  await page.getByTestId('audit-entity').selectOption('customer');
  await page.getByTestId('audit-entity-id').fill(String(id));
  await page.getByRole('button', { name: '筛选' }).click();
  await page.getByTestId('audit-total').filter({ hasText: '共 2 条' }).waitFor();
  assert.deepEqual(await table.locator('tbody tr td:nth-child(3)').allTextContents(), ['修改', '新建']);
  // English on a switch: the same lines in English only.
  await page.getByRole('button', { name: '切换到英文' }).click();
  await page.getByTestId('audit-total').filter({ hasText: '2 lines' }).waitFor();
  assert.deepEqual(await table.locator('tbody tr td:nth-child(3)').allTextContents(), ['Changed', 'Created']);
  await page.getByRole('button', { name: 'Switch to Chinese' }).click();
  await page.getByTestId('audit-total').filter({ hasText: '共 2 条' }).waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, '25-audit-390');
  await page.setViewportSize({ width: 1366, height: 768 });
}));
