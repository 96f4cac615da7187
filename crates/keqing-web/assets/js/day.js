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
  return h('ul', { class: 'list' }, r.items.map((c) =>
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

/** The day `n` days ago, as YYYY-MM-DD in the browser's time zone. */
function daysAgo(n) {
  const d = new Date();
  d.setDate(d.getDate() - n);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function yesterday() { return daysAgo(1); }

/**
 * A supervisor's or director's day: each manager in their scope today —
 * visits and calls made against the quota, care tasks done of those due,
 * open tasks overdue, customers behind their contact standard.
 */
async function teamDay(app) {
  const d = today();
  const r = await api(`/care/compliance?from=${d}&to=${d}`);
  const managers = r.managers;
  if (!managers.length) return h('p', { class: 'muted' }, t('day.team.none'));
  const overdue = await Promise.all(managers.map((m) => api(`/care/tasks?status=open&to=${yesterday()}&owner=${m.manager_id}&per_page=1`)
    .then((x) => x.total, () => null)));
  const teamName = new Map(app.teams.map((tm) => [tm.id, tm.name]));
  const several = new Set(managers.map((m) => m.team_id)).size > 1;
  const made = (pair) => (Array.isArray(pair) ? pair[1] : 0);
  const required = (pair) => (Array.isArray(pair) ? pair[0] : 0);
  const rows = managers.map((m, i) => {
    const q = m.quota?.days?.[0] || {};
    const visits = made(q.new_customer_visits) + made(q.existing_customer_visits);
    const visitsDue = required(q.new_customer_visits) + required(q.existing_customer_visits);
    const behind = m.cadence.customers_behind.length;
    return h('tr', {},
      h('th', { scope: 'row' }, m.name),
      several ? h('td', {}, teamName.get(m.team_id) || '—') : null,
      h('td', { class: 'num' }, `${visits} / ${visitsDue}`),
      h('td', { class: 'num' }, `${made(q.calls)} / ${required(q.calls)}`),
      h('td', { class: 'num' }, `${m.tasks.made} / ${m.tasks.due}`),
      h('td', { class: 'num' }, overdue[i] === null ? '—' : overdue[i] ? h('span', { class: 'badge badge-warn' }, String(overdue[i])) : '0'),
      h('td', { class: 'num' }, behind ? h('a', { href: `#/compliance?from=${d}&to=${d}` }, String(behind)) : '0'));
  });
  const heads = ['comp.manager', several ? 'comp.team' : null, 'day.team.visits', 'day.team.calls', 'day.team.tasks', 'day.team.overdue', 'day.team.behind'].filter(Boolean);
  const sum = (f) => managers.reduce((n, m) => n + f(m), 0);
  return h('div', {},
    h('p', { class: 'muted' }, t('day.team.summary', {
      n: managers.length,
      done: sum((m) => m.tasks.made), due: sum((m) => m.tasks.due),
      overdue: overdue.reduce((n, x) => n + (x || 0), 0),
      behind: sum((m) => m.cadence.customers_behind.length),
    })),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'team-day' },
      h('thead', {}, h('tr', {}, heads.map((k, i) => h('th', { scope: 'col', class: i >= heads.length - 5 ? 'num' : null }, t(k))))),
      h('tbody', {}, rows))));
}

/**
 * The day of a role without care tasks (finance, service agents): what they
 * can do here, and nothing that would only answer "not allowed".
 */
function readerDay(app) {
  const links = [['#/customers', t('nav.customers')]];
  if (app.user.role !== 'agent') links.push(['#/analysis', t('nav.analysis')]);
  return h('div', { class: 'page' },
    h('h1', {}, t('day.title')),
    h('p', { class: 'muted' }, t('day.greeting', { name: app.user.display_name, date: date(today()) })),
    card(t('day.reader.title'),
      h('p', { 'data-testid': 'reader-day' }, t(`day.reader.${app.user.role}`)),
      h('p', {}, t('day.reader.search')),
      h('ul', { class: 'list' }, links.map(([href, text]) => h('li', {}, h('a', { href }, text))))));
}

export async function day(app) {
  if (!app.care) return readerDay(app);
  // One compliance report for the manager's quota and cadence, one task list.
  const mine = myCompliance(app);
  const tasks = openTasks(app);
  // Cadence tasks closed lately: their customers show what became of them.
  const closed = api(`/care/tasks?kind=cadence&from=${daysAgo(7)}&to=${today()}&owner=${app.user.id}&per_page=500`)
    .then((r) => r.items.filter((x) => x.status !== 'open'), () => []);
  // A manager's cadence tasks show with the customers behind their standard.
  const split = Promise.all([mine.catch(() => null), tasks]).then(([me, all]) => ({
    me, all: all || [], listed: me ? (all || []).filter((x) => x.kind !== 'cadence') : all || [],
  }));
  const [team, care, quota, cadence, ch, inc, pl] = await Promise.all([
    app.isSupervisor() ? section(t('day.team'), () => teamDay(app)) : null,
    section(t('day.tasks'), async () => careSection(app, (await split).listed)),
    mine.then(quotaSection, (e) => card(t('day.quota'), alertBox(errorText(e)))),
    split.then(async ({ me, all }) => (me ? section(t('day.cadence'), async () => cadenceSection(app, me, all.filter((x) => x.kind === 'cadence'), await closed)) : null), () => null),
    section(t('day.changes'), () => changes(app)),
    section(t('day.incomplete'), () => incomplete()),
    section(t('day.pool'), () => pool(app)),
  ]);
  if (cadence) cadence.dataset.testid = 'cadence';
  if (team) team.dataset.testid = 'team';
  return h('div', { class: 'page' },
    h('h1', {}, t('day.title')),
    h('p', { class: 'muted' }, t('day.greeting', { name: app.user.display_name, date: date(today()) })),
    team,
    h('div', { class: 'grid-day' }, h('div', { class: 'col-main' }, care, cadence, ch), h('div', { class: 'col-side' }, quota, inc, pl)));
}
