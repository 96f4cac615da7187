// The customer page and its forms (issue 25): a manager creates a customer
// with a contact and an order; contacts are edited and deleted; a change is
// reported; an administrator deletes and restores; each role sees only the
// buttons it may use, and names instead of "#4"; a phone, 390 px wide.
// Every record is made here, with a fresh name: the other journeys' customers
// are left as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, shot, BASE, journey, apiAs } from './lib.js';

/** A screenshot of the whole page from its top (a sticky header stays at the top). */
async function pageShot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, name);
}

const stamp = Date.now() % 1000000;
/** A name no other journey (nor an earlier run) uses. */
const fresh = (what) => `${what}${stamp}`;
/** A mobile number of this run (13 + 9 digits). */
const mobile = (n) => `139${String(stamp).padStart(6, '0')}${n}${n}`.slice(0, 11);

/** Creates a customer of wangfang's through the API: {id, name}. */
async function wangfangsCustomer(what) {
  const api = await apiAs('wangfang');
  const r = await api('/customers', { method: 'POST', body: JSON.stringify({ name: fresh(what), city: '南京', contacts: [{ name: '钱进', mobile: mobile(1), title: '采购经理' }] }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a manager creates a customer with a contact and an order', () => journey('a1-create-customer', async (page) => {
  const name = fresh('南京鼎盛商贸有限公司');
  await login(page, 'wangfang');
  await page.getByRole('link', { name: '客户', exact: true }).click();
  await page.getByTestId('customer-new').click();
  const form = page.getByTestId('new-customer-form');
  await form.waitFor();
  await pageShot(page, 'a1-create-form-1366');
  await page.setViewportSize({ width: 390, height: 844 });
  await pageShot(page, 'a1-create-form-390');
  await page.setViewportSize({ width: 1366, height: 768 });
  // The name is required, and said so beside the field.
  await form.getByRole('button', { name: '创建客户' }).click();
  await form.getByText('请填写客户名称').waitFor();
  await form.getByLabel('名称 *').fill(name);
  await form.getByLabel('省份').fill('江苏');
  await form.getByLabel('城市').fill('南京');
  await form.getByLabel('电话').fill('025-52101234');
  await form.getByLabel('联系人姓名').fill('周明');
  await form.getByLabel('手机').fill(mobile(2));
  await form.getByLabel('级别').selectOption('person_in_charge');
  await form.getByRole('button', { name: '创建客户' }).click();
  await page.getByTestId('customer-name').filter({ hasText: name }).waitFor();
  assert.match(await page.getByTestId('customer-owner').textContent(), /王芳/);
  const contacts = page.getByTestId('contacts');
  await contacts.getByText('周明').waitFor();
  assert.match(await contacts.textContent(), /负责人/);
  const id = Number(page.url().match(/customers\/(\d+)/)[1]);

  // An order, recorded on the page: it is on the timeline and in the value panel.
  const order = page.getByTestId('order-form');
  await order.getByLabel('金额（元）').fill('1234.5');
  await order.getByLabel('数量').fill('12');
  await order.getByLabel('单位').selectOption('case');
  await order.getByLabel('产品').fill('螺纹钢');
  await order.getByRole('button', { name: '保存订单' }).click();
  const entry = page.getByTestId('timeline').locator('li.tl-order').filter({ hasText: '螺纹钢' });
  await entry.waitFor();
  assert.match(await entry.textContent(), /¥1,234\.50/);
  assert.match(await entry.textContent(), /12 箱/);
  assert.equal((await page.getByTestId('order-total').textContent()).trim(), '¥1,234.50');
  // A bad amount is named beside its field.
  await order.getByLabel('金额（元）').fill('12.345');
  await order.getByRole('button', { name: '保存订单' }).click();
  await order.locator('.field-error').filter({ hasText: /金额/ }).waitFor();

  const api = await apiAs('wangfang');
  const stored = (await api(`/customers/${id}/orders`)).body.items;
  assert.equal(stored.length, 1);
  assert.deepEqual([stored[0].amount, stored[0].quantity, stored[0].unit, stored[0].product], ['1234.50', 12, 'case', '螺纹钢']);
  await pageShot(page, 'a1-customer-page-1366');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.getByTestId('customer-name').waitFor();
  // On a phone the header stays one row, and the contacts come before the timeline.
  const header = await page.locator('header.top').boundingBox();
  assert.ok(header.height < 60, `header is ${header.height}px high`);
  const scrollW = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollW <= 390, `the page is ${scrollW}px wide`);
  const contactsY = (await page.getByTestId('contacts').boundingBox()).y;
  const timelineY = (await page.getByTestId('timeline').boundingBox()).y;
  assert.ok(contactsY < timelineY, 'contacts before the timeline');
  await pageShot(page, 'a1-customer-page-390');
  await page.setViewportSize({ width: 1366, height: 768 });

  // The same customer again: the form shows the one on file, to open.
  await page.goto(`${BASE}/#/customers/new`);
  await form.getByLabel('名称 *').fill(name);
  await form.getByLabel('电话').fill('025-52101234');
  await form.getByRole('button', { name: '创建客户' }).click();
  const dup = page.getByTestId('duplicate');
  await dup.getByText(name).waitFor();
  assert.equal(await dup.getByTestId('dup-merge').count(), 0, 'a manager may not merge');
  await pageShot(page, 'a1-duplicate');
  await dup.getByTestId('dup-open').click();
  await page.getByTestId('customer-name').filter({ hasText: name }).waitFor();
  assert.equal(Number(page.url().match(/customers\/(\d+)/)[1]), id);
}));

test('contacts are added with a lunar birthday and consent, edited and deleted', () => journey('a2-contacts', async (page) => {
  const c = await wangfangsCustomer('苏州禾丰食品有限公司');
  page.on('dialog', (d) => d.accept());
  await login(page, 'wangfang');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  const contacts = page.getByTestId('contacts');
  await contacts.getByText('钱进').waitFor();
  await contacts.getByTestId('contact-add').click();
  const form = contacts.getByTestId('contact-form');
  await form.getByLabel('联系人姓名 *').fill('孙丽');
  await form.getByLabel('职务').fill('总经理');
  await form.getByLabel('手机').fill(mobile(3));
  await form.getByLabel('级别').selectOption('decision_maker');
  await form.getByLabel('历法').selectOption('lunar');
  await form.getByLabel('出生年份（可不填）').fill('1975');
  await form.getByLabel('月', { exact: true }).selectOption('08');
  await form.getByLabel('日', { exact: true }).selectOption('15');
  await form.getByLabel('营销邮件').check();
  await form.getByTestId('ct-consent-wechat').uncheck();
  await shot(page, 'a2-contact-form');
  await form.getByRole('button', { name: '保存' }).click();
  const sun = contacts.locator('li').filter({ hasText: '孙丽' });
  await sun.waitFor();
  assert.match(await sun.textContent(), /农历八月十五（1975年）/);
  assert.match(await sun.textContent(), /可联系：电话、短信、营销邮件/);
  assert.match(await sun.textContent(), /决策者/);
  const api = await apiAs('wangfang');
  let stored = (await api(`/customers/${c.id}/contacts`)).body.items;
  const k = stored.find((x) => x.name === '孙丽');
  assert.equal(k.birthday, '农历1975-08-15');
  assert.deepEqual(k.consent, { phone: true, sms: true, email: true, wechat: false });

  // Edit the first contact: a new title and a solar birthday without a year.
  const qian = contacts.locator('li').filter({ hasText: '钱进' });
  await qian.getByTestId('contact-edit').click();
  const edit = contacts.getByTestId('contact-form');
  await edit.getByLabel('职务').fill('采购总监');
  await edit.getByLabel('月', { exact: true }).selectOption('05');
  await edit.getByLabel('日', { exact: true }).selectOption('03');
  await edit.getByRole('button', { name: '保存' }).click();
  await contacts.getByText('采购总监').waitFor();
  await contacts.getByText('5月3日').waitFor();
  // A bad mobile is refused beside its field.
  await contacts.locator('li').filter({ hasText: '孙丽' }).getByTestId('contact-edit').click();
  await contacts.getByTestId('contact-form').getByLabel('手机').fill('12345');
  await contacts.getByTestId('contact-form').getByRole('button', { name: '保存' }).click();
  await contacts.getByTestId('contact-form').locator('.field-error:not([hidden])').first().waitFor();
  await contacts.getByTestId('contact-form').getByRole('button', { name: '取消' }).click();

  // Deleting a contact is a supervisor's act (the matrix gives managers no delete).
  assert.equal(await contacts.getByTestId('contact-delete').count(), 0);
  await page.getByRole('button', { name: '退出' }).click();
  await login(page, 'chenjing');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await contacts.getByText('钱进').waitFor();
  await contacts.locator('li').filter({ hasText: '孙丽' }).getByTestId('contact-delete').click();
  await contacts.locator('li').filter({ hasText: '孙丽' }).waitFor({ state: 'detached' });
  stored = (await api(`/customers/${c.id}/contacts`)).body.items;
  assert.deepEqual(stored.map((x) => [x.name, x.title, x.birthday]), [['钱进', '采购总监', '05-03']]);
}));

test('an activity logged yesterday, and a change reported within the 15 days', () => journey('a3-change-report', async (page) => {
  const c = await wangfangsCustomer('无锡恒通机电有限公司');
  await login(page, 'wangfang');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  // Yesterday's visit, logged today, at the time it happened.
  const log = page.getByTestId('log-form');
  const y = new Date(Date.now() - 86400000);
  const p = (n) => String(n).padStart(2, '0');
  await log.getByLabel('时间').fill(`${y.getFullYear()}-${p(y.getMonth() + 1)}-${p(y.getDate())}T15:30`);
  await log.getByLabel('内容', { exact: true }).fill('昨天下午拜访了采购部');
  await log.getByRole('button', { name: '保存' }).click();
  const entry = page.getByTestId('timeline').locator('li').filter({ hasText: '昨天下午拜访了采购部' });
  await entry.waitFor();
  assert.match(await entry.textContent(), /15:30/);
  assert.match(await entry.textContent(), /王芳/);

  const card = page.getByTestId('changes-card');
  await card.getByTestId('change-open').click();
  await card.getByLabel('变更内容').fill('公司搬到新街口，电话改为 025-86661234');
  await card.getByRole('button', { name: '提交' }).click();
  const open = card.getByTestId('changes').locator('li').filter({ hasText: '新街口' });
  await open.waitFor();
  assert.match(await open.textContent(), /前登记/);
  const api = await apiAs('wangfang');
  const listed = (await api('/changes')).body.items.filter((x) => x.customer_id === c.id);
  assert.equal(listed.length, 1);
  await shot(page, 'a3-change-open');
  await open.getByRole('button', { name: '已更新档案' }).click();
  await card.getByText('没有待登记的变更').waitFor();
  assert.equal((await api('/changes')).body.items.filter((x) => x.customer_id === c.id).length, 0);
}));

test('an administrator deletes a customer and restores it', () => journey('a4-delete-restore', async (page) => {
  const c = await wangfangsCustomer('常州瑞达包装有限公司');
  page.on('dialog', (d) => d.accept());
  // A manager has no delete button.
  await login(page, 'wangfang');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await page.getByTestId('customer-name').waitFor();
  assert.equal(await page.getByTestId('customer-delete').count(), 0);
  await page.getByRole('button', { name: '退出' }).click();
  await login(page, 'admin');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await page.getByTestId('customer-name').filter({ hasText: c.name }).waitFor();
  await page.getByTestId('customer-delete').click();
  await page.getByText('此客户已于').waitFor();
  await shot(page, 'a4-deleted');
  const api = await apiAs('wangfang');
  assert.equal((await api(`/customers/${c.id}`)).status, 404, 'gone for its manager');
  await page.getByTestId('customer-restore').click();
  await page.getByTestId('log-form').waitFor();
  assert.equal(await page.getByText('此客户已于').count(), 0);
  assert.equal((await api(`/customers/${c.id}`)).status, 200, 'back for its manager');

  // A second file of the same company, merged into this one: its contact comes along.
  const other = await api('/customers', { method: 'POST', body: JSON.stringify({ name: fresh('常州瑞达包装公司'), contacts: [{ name: '韩梅', mobile: mobile(4) }] }) });
  assert.equal(other.status, 201);
  const admin = page.getByTestId('customer-admin');
  await admin.getByTestId('merge-open').click();
  await admin.getByLabel('按名称查找要并入的客户').fill(other.body.name);
  await admin.locator('li').filter({ hasText: other.body.name }).getByRole('button', { name: '选择' }).click();
  await page.getByTestId('contacts').getByText('韩梅').waitFor();
  assert.equal((await api(`/customers/${other.body.id}`)).status, 404, 'the merged file is gone');
}));

test('finance and service agents see only what they may do, and names instead of ids', () => journey('a5-roles', async (page) => {
  const c = await wangfangsCustomer('扬州清源水务有限公司');
  const owner = await apiAs('wangfang');
  await owner(`/customers/${c.id}/activities`, { method: 'POST', body: JSON.stringify({ kind: 'call', summary: '电话问候' }) });
  await login(page, 'hejuan');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await page.getByTestId('customer-name').filter({ hasText: c.name }).waitFor();
  assert.match(await page.getByTestId('customer-owner').textContent(), /王芳/);
  const call = page.getByTestId('timeline').locator('li').filter({ hasText: '电话问候' });
  assert.match(await call.textContent(), /王芳/);
  assert.doesNotMatch(await page.locator('main').textContent(), /#\d/);
  // Finance keeps orders, but neither logs activities nor edits the file.
  assert.equal(await page.getByTestId('log-form').count(), 0);
  assert.equal(await page.getByRole('button', { name: '编辑' }).count(), 0);
  assert.equal(await page.getByTestId('contact-add').count(), 0);
  await page.getByTestId('order-form').waitFor();
  await shot(page, 'a5-finance');
  // The list names owners too.
  await page.goto(`${BASE}/#/customers?q=${encodeURIComponent(c.name)}`);
  await page.getByRole('link', { name: c.name }).waitFor();
  assert.match(await page.locator('table').textContent(), /王芳/);
  assert.equal(await page.getByTestId('customer-new').count(), 0, 'finance creates no customers');
  await page.getByRole('button', { name: '退出' }).click();
  // A service agent records what happened, and nothing else.
  await login(page, 'maxiaoyu');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await page.getByTestId('log-form').waitFor();
  assert.equal(await page.getByTestId('order-form').count(), 0);
  assert.equal(await page.getByRole('button', { name: '编辑' }).count(), 0);
}));

test('a group customer lists its members, added from its page', () => journey('a6-group', async (page) => {
  const group = await wangfangsCustomer('鼎盛集团');
  const member = await wangfangsCustomer('鼎盛集团南京分公司');
  await login(page, 'wangfang');
  await page.goto(`${BASE}/#/customers/${group.id}`);
  const card = page.getByTestId('group');
  await card.getByText('没有下属成员企业').waitFor();
  await card.getByText('添加成员企业').click();
  await card.getByLabel('按名称查找客户').fill(member.name);
  await card.locator('li').filter({ hasText: member.name }).getByRole('button', { name: '选择' }).click();
  await card.getByTestId('group-members').getByRole('link', { name: member.name }).waitFor();
  await card.getByTestId('group-members').getByRole('link', { name: member.name }).click();
  await page.getByTestId('group-parent').getByRole('link', { name: group.name }).waitFor();
  // Key dates of the group: its founding day.
  await page.goto(`${BASE}/#/customers/${group.id}`);
  const kd = page.getByTestId('keydates');
  await kd.getByTestId('keydates-edit').click();
  await kd.getByLabel('名称，如 成立日').fill('成立日');
  await kd.getByLabel('日期').fill('2008-06-18');
  await kd.getByRole('button', { name: '保存' }).click();
  await kd.getByText('2008年6月18日').waitFor();
}));

/** Whether this build's activities take the follow-up date and the card's gift rules (the lead's change). */
async function activitiesContract() {
  const doc = await fetch(`${BASE}/api/v1/openapi.json`).then((r) => r.json());
  const body = doc.components?.schemas?.ActivityBody?.properties || {};
  return 'follow_up_on' in body && 'acknowledge_card' in body;
}

test('a visit with a next follow-up date, and a gift against the card confirmed', async (t) => {
  if (!await activitiesContract()) {
    t.skip('POST /customers/{id}/activities does not take follow_up_on and acknowledge_card in this build yet');
    return;
  }
  const c = await wangfangsCustomer('泰州德诚建材有限公司');
  const api = await apiAs('wangfang');
  const now = (await api(`/customers/${c.id}`)).body;
  const patched = await api(`/customers/${c.id}`, { method: 'PATCH', body: JSON.stringify({ version: now.version, card: { ...now.card, gifts_forbidden: true } }) });
  assert.equal(patched.status, 200);
  await journey('a7-follow-up-gift', async (page) => {
    await login(page, 'wangfang');
    await page.goto(`${BASE}/#/customers/${c.id}`);
    const log = page.getByTestId('log-form');
    // A visit, and the next follow-up today: a task on the owner's day.
    // Today where the user is (the browser's time zone, Asia/Shanghai).
    const today = await page.evaluate(() => {
      const d = new Date();
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
    });
    await log.getByLabel('内容', { exact: true }).fill('谈了明年的采购计划');
    await log.getByLabel('下次跟进日期').fill(today);
    await log.getByRole('button', { name: '保存' }).click();
    await page.getByTestId('timeline').locator('li').filter({ hasText: '谈了明年的采购计划' }).waitFor();
    const tasks = (await api(`/care/tasks?from=${today}&to=${today}&per_page=1000`)).body.items
      .filter((x) => x.kind === 'follow_up' && x.customer_id === c.id);
    assert.equal(tasks.length, 1, 'one follow-up task on that day');
    await page.getByRole('link', { name: '我的一天' }).click();
    await page.locator('[data-testid=care-task][data-kind=follow_up]').filter({ hasText: c.name }).waitFor();
    await pageShot(page, 'a7-follow-up-on-my-day');
    await page.goto(`${BASE}/#/customers/${c.id}`);
    await page.getByTestId('customer-name').waitFor();
    // An empty entry is refused beside its field.
    await log.getByRole('button', { name: '保存' }).click();
    await log.locator('.field-error:not([hidden])').first().waitFor();
    // A gift the card forbids: the warning says why, and saves only when confirmed.
    await log.getByRole('radio', { name: '送礼' }).click();
    await log.getByLabel('礼品', { exact: true }).fill('茶叶');
    await log.getByLabel('礼品价值（元）').fill('300');
    await log.getByRole('button', { name: '保存' }).click();
    const warning = page.getByTestId('gift-warning');
    await warning.waitFor();
    assert.equal(await warning.getAttribute('data-rule'), 'forbidden');
    assert.match(await warning.textContent(), /禁止送礼/);
    await pageShot(page, 'a7-gift-warning');
    assert.equal((await api(`/customers/${c.id}/activities`)).body.items.filter((a) => a.kind === 'gift').length, 0, 'not saved before the confirm');
    await warning.getByTestId('gift-confirm').click();
    await page.getByTestId('timeline').locator('li').filter({ hasText: '茶叶' }).waitFor();
    assert.equal((await api(`/customers/${c.id}/activities`)).body.items.filter((a) => a.kind === 'gift').length, 1);

    // Gifts allowed up to an amount: a dearer one is warned of with the limit and the policy.
    const card = page.getByTestId('card');
    await card.getByTestId('card-edit').click();
    await card.getByLabel('禁止送礼').uncheck();
    await card.getByLabel('礼品政策').fill('单笔不超过200元');
    await card.getByRole('button', { name: '保存' }).click();
    await card.getByText('单笔不超过200元').waitFor();
    await log.getByRole('radio', { name: '送礼' }).click();
    await log.getByLabel('礼品', { exact: true }).fill('月饼礼盒');
    await log.getByLabel('礼品价值（元）').fill('388');
    await log.getByRole('button', { name: '保存' }).click();
    await warning.waitFor();
    assert.equal(await warning.getAttribute('data-rule'), 'over_limit');
    assert.match(await warning.textContent(), /¥200\.00（单笔不超过200元）/);
    // Cancelled: nothing saved.
    await warning.getByRole('button', { name: '取消' }).click();
    await warning.waitFor({ state: 'detached' });
    assert.equal((await api(`/customers/${c.id}/activities`)).body.items.filter((a) => a.kind === 'gift').length, 1);
  });
});
