// Care tasks (关怀任务, SPEC §4) on "my day": today's and overdue tasks grouped
// by kind, each with its suggested message to copy and done / skip / later,
// and today's activity quota (2 new-customer visits, 3 existing-customer
// visits, 4 calls by default: 001 篇7).
import { api } from './api.js';
import { t, label, getLang } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, field } from './ui.js';
import { date, today } from './format.js';

const KINDS = ['greeting', 'order_day', 'cadence', 'deadline', 'quota'];

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Without clipboard permission: select the text so Ctrl+C copies it.
    const r = document.createRange();
    r.selectNodeContents(btn.closest('.task').querySelector('.msg'));
    getSelection().removeAllRanges();
    getSelection().addRange(r);
  }
  toast(t('common.copied'));
}

function tomorrow() {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A greeting's occasion: a festival (named by the calendar), a birthday, a key date. */
function occasionName(o) {
  if (o.reason === 'occasion') return getLang() === 'en' ? o.name_en : o.name_zh;
  if (o.reason === 'birthday') return o.years ? t('occ.birthday.years', { n: o.years }) : t('occ.birthday');
  if (o.reason === 'key_date') return o.years ? `${o.name} ${t('occ.years', { n: o.years })}` : o.name;
  return '';
}

function taskItem(app, task, names) {
  const status = h('div', { 'aria-live': 'polite' });
  const act = async (what, body, done) => {
    clear(status);
    try {
      await api(`/care/tasks/${task.id}/${what}`, { method: 'POST', body });
      toast(done);
      app.refresh();
    } catch (e) { status.append(alertBox(errorText(e))); }
  };
  const reasonBox = h('div', { class: 'actions', hidden: true });
  const reason = h('input', { name: 'reason', required: true });
  reasonBox.append(field(t('care.skip.reason'), reason),
    h('button', { type: 'button', class: 'btn btn-small', onclick: () => { if (reason.value.trim()) act('skip', { reason: reason.value.trim() }, t('day.skipped')); else reason.focus(); } }, t('care.skip.confirm')));
  const overdue = task.date < today();
  const who = task.customer_id ? h('a', { href: `#/customers/${task.customer_id}` }, names.get(task.customer_id) || `#${task.customer_id}`) : null;
  const reasons = Array.isArray(task.occasions) ? task.occasions.map(occasionName).filter(Boolean) : [];
  return h('li', { class: 'task', 'data-testid': 'care-task' },
    h('div', { class: 'row' },
      h('div', {}, who, reasons.length ? h('span', { class: 'muted' }, ' · ', reasons.join('、')) : null,
        task.channel ? h('span', { class: 'badge' }, label('act', task.channel)) : null,
        overdue ? h('span', { class: 'badge badge-warn' }, t('day.overdue'), ' ', date(task.date)) : null)),
    task.message ? h('div', {}, h('span', { class: 'sr-only' }, t('day.message')), h('div', { class: 'msg' }, task.message)) : null,
    h('div', { class: 'actions' },
      task.message ? h('button', { type: 'button', class: 'btn btn-small', onclick: (ev) => copy(task.message, ev.currentTarget) }, t('common.copy')) : null,
      h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: () => act('complete', {}, t('day.completed')) }, t('day.complete')),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => act('snooze', { until: tomorrow() }, t('care.snoozed')) }, t('care.snooze')),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => { reasonBox.hidden = false; reason.focus(); } }, t('day.skip'))),
    reasonBox, status);
}

export async function careSection(app) {
  if (!app.care) return h('p', { class: 'muted' }, t('day.tasks.unavailable'));
  const r = await api(`/care/tasks?status=open&to=${today()}&owner=${app.user.id}&per_page=500`);
  const tasks = r.items.filter((x) => x.kind !== 'quota');
  if (!tasks.length) return h('p', { class: 'muted' }, t('day.tasks.none'));
  const names = new Map();
  const shownTasks = [];
  for (const k of [...KINDS, ...new Set(tasks.map((x) => x.kind))]) {
    if (shownTasks.some((s) => s.kind === k)) continue;
    const mine = tasks.filter((x) => x.kind === k);
    if (mine.length) shownTasks.push({ kind: k, items: mine.slice(0, 30), total: mine.length });
  }
  const ids = [...new Set(shownTasks.flatMap((g) => g.items.map((x) => x.customer_id)).filter(Boolean))];
  await Promise.all(ids.map(async (cid) => {
    try { names.set(cid, (await api(`/customers/${cid}`)).name); } catch { /* shown as #id */ }
  }));
  return h('div', {}, shownTasks.map((g) => h('section', { class: 'task-group' },
    h('h3', {}, label('task', g.kind), ' ', h('span', { class: 'badge' }, String(g.total))),
    h('ul', { class: 'list' }, g.items.map((x) => taskItem(app, x, names))),
    g.total > g.items.length ? h('p', { class: 'muted' }, t('care.more', { n: g.total - g.items.length })) : null)));
}

function bar(made, required) {
  const pct = required ? Math.min(100, Math.round((made / required) * 100)) : 100;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(required), 'aria-valuenow': String(Math.min(made, required)) },
    h('span', { style: `width:${pct}%` }));
}

export async function quotaSection(app) {
  if (!app.care || app.user.role !== 'manager') return null;
  try {
    const d = today();
    const r = await api(`/care/compliance?from=${d}&to=${d}`);
    const me = r.managers.find((m) => m.manager_id === app.user.id);
    const day = me?.quota?.days?.[0];
    if (!day) return null;
    if (!day.working_day) return card(t('day.quota'), h('p', { class: 'muted' }, t('care.quota.rest')));
    const rows = [['new_customer_visits', 'care.quota.new'], ['existing_customer_visits', 'care.quota.existing'], ['calls', 'care.quota.calls']];
    return card(t('day.quota'), h('ul', { class: 'list', 'data-testid': 'quota' }, rows.map(([k, text]) => {
      const [required, made] = day[k];
      return h('li', {}, h('div', { class: 'row' }, h('span', {}, t(text)), h('span', {}, `${made} / ${required}`)), bar(made, required));
    })), day.met ? alertBox(t('care.quota.met'), 'ok') : null);
  } catch (e) {
    return card(t('day.quota'), alertBox(errorText(e)));
  }
}
