// 我的一天: what a manager has to do today, on one page.
import { api, customerNames } from './api.js';
import { t, has } from './i18n.js';
import { h, card, alertBox, errorText, toast } from './ui.js';
import { date, today } from './format.js';
import { careSection, quotaSection, cadenceSection, myCompliance, openTasks } from './care.js';

function customerLink(id, name) {
  return h('a', { href: `#/customers/${id}` }, name || `#${id}`);
}

async function section(title, load) {
  try {
    return card(title, await load());
  } catch (e) {
    return card(title, alertBox(errorText(e)));
  }
}

async function changes(app) {
  const r = await api('/changes?overdue=true');
  if (!r.items.length) return h('p', { class: 'muted' }, t('day.changes.none'));
  const names = await customerNames(r.items.map((c) => c.customer_id)).catch(() => new Map());
  return h('ul', { class: 'list' }, r.items.map((c) => {
    const btn = h('button', {
      type: 'button', class: 'btn btn-small',
      onclick: async () => {
        btn.disabled = true;
        try {
          await api(`/changes/${c.id}/register`, { method: 'POST', body: {} });
          toast(t('common.saved'));
          app.refresh();
        } catch (e) { btn.disabled = false; toast(errorText(e), 'error'); }
      },
    }, t('day.changes.register'));
    return h('li', { class: 'row' },
      h('div', {}, customerLink(c.customer_id, names.get(c.customer_id)), ' ', h('span', { class: 'badge badge-warn' }, t('day.overdue')),
        h('div', { class: 'muted' }, c.note, ' · ', t('day.changes.reported', { date: date(c.reported_on) }), ' · ', t('day.due', { date: date(c.due_on) }))),
      btn);
  }));
}

async function incomplete() {
  const r = await api('/work/incomplete');
  if (!r.items.length) return h('p', { class: 'muted' }, t('day.incomplete.none'));
  return h('ul', { class: 'list' }, r.items.slice(0, 20).map((c) =>
    h('li', { class: 'row' },
      h('div', {}, customerLink(c.customer_id, c.name),
        h('div', { class: 'muted' }, t('day.incomplete.missing', { fields: c.missing.map((m) => fieldLabel(m)).join('、') }))))));
}

function fieldLabel(m) {
  const key = typeof m === 'string' ? m : m?.field;
  if (!key) return String(m);
  return has(`f.${key}`) ? t(`f.${key}`) : (m?.label_zh || key);
}

async function pool(app) {
  const r = await api('/pool?per_page=8');
  if (!r.items.length) return h('p', { class: 'muted' }, t('day.pool.none'));
  return h('div', {},
    h('ul', { class: 'list' }, r.items.map((c) => {
      const btn = h('button', {
        type: 'button', class: 'btn btn-small', 'aria-label': `${t('day.pool.claim')} ${c.name}`,
        onclick: async () => {
          btn.disabled = true;
          try {
            await api(`/customers/${c.id}/claim`, { method: 'POST', body: {} });
            toast(t('day.pool.claimed', { name: c.name }));
            app.refresh();
          } catch (e) { btn.disabled = false; toast(errorText(e), 'error'); }
        },
      }, t('day.pool.claim'));
      return h('li', { class: 'row' },
        h('div', {}, customerLink(c.id, c.name), h('div', { class: 'muted' }, [c.province, c.city, c.industry].filter(Boolean).join(' · '))),
        btn);
    })),
    r.total > r.items.length ? h('a', { href: '#/customers?pool=1' }, t('day.pool.more', { n: r.total_capped ? `${r.total.toLocaleString('zh-CN')}+` : r.total })) : null);
}

export async function day(app) {
  // One compliance report for the manager's quota and cadence, one task list.
  const mine = myCompliance(app);
  const tasks = openTasks(app);
  // A manager's cadence tasks show with the customers behind their standard.
  const split = Promise.all([mine.catch(() => null), tasks]).then(([me, all]) => ({
    me, all: all || [], listed: me ? (all || []).filter((x) => x.kind !== 'cadence') : all || [],
  }));
  const [care, quota, cadence, ch, inc, pl] = await Promise.all([
    section(t('day.tasks'), async () => careSection(app, (await split).listed)),
    mine.then(quotaSection, (e) => card(t('day.quota'), alertBox(errorText(e)))),
    split.then(({ me, all }) => (me ? section(t('day.cadence'), () => cadenceSection(app, me, all.filter((x) => x.kind === 'cadence'))) : null), () => null),
    section(t('day.changes'), () => changes(app)),
    section(t('day.incomplete'), () => incomplete()),
    section(t('day.pool'), () => pool(app)),
  ]);
  if (cadence) cadence.dataset.testid = 'cadence';
  return h('div', { class: 'page' },
    h('h1', {}, t('day.title')),
    h('p', { class: 'muted' }, t('day.greeting', { name: app.user.display_name, date: date(today()) })),
    h('div', { class: 'grid-day' }, h('div', { class: 'col-main' }, care, cadence, ch), h('div', { class: 'col-side' }, quota, inc, pl)));
}
