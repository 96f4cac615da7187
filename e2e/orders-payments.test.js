// Orders and their payments (回款) on the customer page (issue 26, point 1):
// a manager records an order in 箱, records a part-payment, sees what is
// still owed, is told in Chinese beside the field when a payment is larger
// than that, edits the order with its version, and marks the rest paid;
// the same page 390 px wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, shot, BASE, journey, apiAs } from './lib.js';

const stamp = Date.now() % 1000000;

/** A customer of wangfang's, made through the API: {id, name}. */
async function wangfangsCustomer(what) {
  const api = await apiAs('wangfang');
  const r = await api('/customers', { method: 'POST', body: JSON.stringify({ name: `${what}${stamp}`, city: '南京' }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a manager records an order in cases, a part-payment, and is refused an over-payment', () => journey('p1-orders-payments', async (page) => {
  const c = await wangfangsCustomer('回款测试商贸');
  const api = await apiAs('wangfang');
  const owed = async () => {
    const r = await api('/receivables');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return BigInt(r.body.outstanding.replace('.', ''));
  };
  const owedBefore = await owed();
  await login(page, 'wangfang');
  await page.goto(`${BASE}/#/customers/${c.id}`);
  await page.getByTestId('customer-name').waitFor();

  // The order, in 箱.
  const order = page.getByTestId('order-form');
  await order.getByLabel('金额（元）').fill('1000');
  await order.getByLabel('数量').fill('20');
  await order.getByLabel('单位').selectOption('case');
  await order.getByLabel('产品').fill('黄酒');
  await order.getByRole('button', { name: '保存订单' }).click();
  const card = page.getByTestId('orders-card');
  const row = card.locator('li.order-row').filter({ hasText: '黄酒' });
  await row.waitFor();
  assert.match(await row.textContent(), /20 箱/);
  assert.match(await row.textContent(), /未收 ¥1,000\.00/);

  // A part-payment of 300, paid today.
  await row.getByRole('button', { name: '登记回款' }).click();
  let form = row.getByTestId('payment-form');
  await form.getByLabel('回款金额（元） *').fill('300');
  await form.getByRole('button', { name: '保存回款' }).click();
  await card.locator('li.order-row').filter({ hasText: '已回款 ¥300.00' }).waitFor();
  const again = card.locator('li.order-row').filter({ hasText: '黄酒' });
  assert.match(await again.textContent(), /未收 ¥700\.00/);

  // More than is still owed: the Chinese words beside the amount, nothing stored.
  await again.getByRole('button', { name: '登记回款' }).click();
  form = again.getByTestId('payment-form');
  await form.getByLabel('回款金额（元） *').fill('800');
  await form.getByRole('button', { name: '保存回款' }).click();
  const err = form.locator('.field-error').filter({ hasText: /回款金额超过订单未收金额/ });
  await err.waitFor();
  assert.match(await err.textContent(), /700\.00/);
  await shot(page, 'p1-over-payment-1366');
  const orders = (await api(`/customers/${c.id}/orders`)).body.items;
  assert.equal(orders.length, 1);
  assert.equal(orders[0].payments.length, 1, 'the refused payment was not stored');
  assert.deepEqual([orders[0].paid, orders[0].outstanding, orders[0].unit], ['300.00', '700.00', 'case']);

  // A payment due later, not yet paid, then marked paid.
  await form.getByLabel('回款金额（元） *').fill('200');
  await form.getByLabel('回款日期').fill('');
  await form.getByLabel('应收日期').fill('2099-12-31');
  await form.getByRole('button', { name: '保存回款' }).click();
  const open = card.locator('li.order-row').filter({ hasText: '未付' });
  await open.waitFor();
  assert.match(await open.textContent(), /未收 ¥700\.00/);
  await open.getByRole('button', { name: '标记今日已付' }).click();
  await card.locator('li.order-row').filter({ hasText: '未收 ¥500.00' }).waitFor();

  // The order edited: its amount, sent with the version read.
  const edited = card.locator('li.order-row').filter({ hasText: '黄酒' });
  await edited.getByRole('button', { name: '编辑' }).click();
  const ef = edited.getByTestId('order-edit-form');
  await ef.getByLabel('金额（元） *').fill('400');
  await ef.getByRole('button', { name: '保存' }).click();
  await ef.locator('.field-error').filter({ hasText: /订单金额不能低于已登记的回款/ }).waitFor();
  await ef.getByLabel('金额（元） *').fill('900');
  await ef.getByRole('button', { name: '保存' }).click();
  await card.locator('li.order-row').filter({ hasText: '未收 ¥400.00' }).waitFor();
  const after = (await api(`/customers/${c.id}/orders`)).body.items[0];
  assert.deepEqual([after.amount, after.version, after.payments.length], ['900.00', 2, 2]);
  const history = (await api(`/orders/${after.id}/history`)).body.items;
  assert.ok(history.some((h) => h.action === 'update' && h.entity === 'order'), JSON.stringify(history));

  // The manager's receivables carry what is still owed on it.
  assert.equal(await owed() - owedBefore, 40000n, 'receivables grew by ¥400.00');

  await page.setViewportSize({ width: 390, height: 844 });
  await card.scrollIntoViewIfNeeded();
  await shot(page, 'p1-orders-390');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
}));
