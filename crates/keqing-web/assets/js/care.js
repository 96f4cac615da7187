// Care tasks (关怀任务, SPEC §4) on "my day": today's and overdue tasks grouped
// by kind, each with its suggested message to copy and done / skip / later,
// and today's activity quota (2 new-customer visits, 3 existing-customer
// visits, 4 calls by default: 001 篇7).
import { api, customerNames } from './api.js';
import { t, label, getLang } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, field } from './ui.js';
import { date, today } from './format.js';

const KINDS = ['follow_up', 'greeting', 'order_day', 'cadence', 'deadline', 'quota'];

/** The channels a task can be done through: the one actually used is logged. */
const CHANNELS = ['visit', 'call', 'sms', 'wechat', 'email', 'meal'];

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

/** Kinds whose message is written to the customer (copied and sent); the others are notes. */
const TO_CUSTOMER = new Set(['greeting', 'order_day']);

/**
 * Done / tomorrow / skip for one task, and where its errors show. Done asks
 * which channel was actually used (nothing is preselected: the suggestion is
 * only a hint) and takes an optional note; skip asks why.
 */
function taskActions(app, task, copyFrom) {
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
  const doneBox = h('div', { class: 'actions done-box', hidden: true, 'data-testid': 'complete-form' });
  if (task.customer_id) {
    const channel = h('select', { name: 'channel', required: true },
      h('option', { value: '' }, t('care.done.pick')),
      CHANNELS.map((c) => h('option', { value: c }, label('act', c))));
    const note = h('input', { name: 'note', placeholder: t('care.done.note.hint') });
    doneBox.append(
      field(t('care.done.channel'), channel, task.channel ? t('care.done.suggested', { c: label('act', task.channel) }) : null),
      field(t('care.done.note'), note),
      h('button', {
        type: 'button', class: 'btn btn-small btn-primary',
        onclick: () => {
          if (!channel.value) { channel.focus(); status.replaceChildren(alertBox(t('care.done.need'))); return; }
          act('complete', { channel: channel.value, summary: note.value.trim() || undefined }, t('day.completed'));
        },
      }, t('care.done.confirm')));
  }
  const complete = () => {
    // A task without a customer (the quota) logs nothing: done at once.
    if (!task.customer_id) { act('complete', {}, t('day.completed')); return; }
    reasonBox.hidden = true;
    doneBox.hidden = false;
    doneBox.querySelector('select').focus();
  };
  return [
    h('div', { class: 'actions' },
      copyFrom ? h('button', { type: 'button', class: 'btn btn-small', onclick: (ev) => copy(copyFrom, ev.currentTarget) }, t('common.copy')) : null,
      h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: complete }, t('day.complete')),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => act('snooze', { until: tomorrow() }, t('care.snoozed')) }, t('care.snooze')),
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => { doneBox.hidden = true; reasonBox.hidden = false; reason.focus(); } }, t('day.skip'))),
    doneBox, reasonBox, status];
}

/** What became of a task that is no longer open: skipped (why), snoozed (until), done. */
function taskState(task) {
  if (task.status === 'skipped') return h('span', { class: 'badge', 'data-testid': 'task-state' }, t('care.state.skipped', { reason: task.reason || '' }));
  if (task.status === 'snoozed') return h('span', { class: 'badge', 'data-testid': 'task-state' }, t('care.state.snoozed', { date: date(task.snoozed_until) }));
  if (task.status === 'done') return h('span', { class: 'badge badge-ok', 'data-testid': 'task-state' }, t('care.state.done'));
  return null;
}

function taskItem(app, task, names) {
  const overdue = task.date < today();
  const who = task.customer_id ? h('a', { href: `#/customers/${task.customer_id}` }, names.get(task.customer_id) || `#${task.customer_id}`) : null;
  const reasons = Array.isArray(task.occasions) ? task.occasions.map(occasionName).filter(Boolean) : [];
  const toCustomer = TO_CUSTOMER.has(task.kind) && task.message;
  return h('li', { class: 'task', 'data-testid': 'care-task', 'data-kind': task.kind },
    h('div', { class: 'row' },
      h('div', {}, who, reasons.length ? h('span', { class: 'muted' }, ' · ', reasons.join('、')) : null,
        task.channel ? h('span', { class: 'badge' }, label('act', task.channel)) : null,
        overdue ? h('span', { class: 'badge badge-warn' }, t('day.overdue'), ' ', date(task.date)) : null)),
    toCustomer ? h('div', {}, h('span', { class: 'sr-only' }, t('day.message')), h('div', { class: 'msg' }, task.message)) : null,
    !toCustomer && task.message ? h('div', { class: 'muted' }, task.message) : null,
    ...taskActions(app, task, toCustomer ? task.message : null));
}

/** The open care tasks of the logged-in user up to today (not the quota's). */
export async function openTasks(app) {
  if (!app.care) return null;
  const r = await api(`/care/tasks?status=open&to=${today()}&owner=${app.user.id}&per_page=500`);
  return r.items.filter((x) => x.kind !== 'quota');
}

/** How many tasks of a kind show before "show all". */
const FIRST = 5;

export async function careSection(app, tasks) {
  if (!app.care) return h('p', { class: 'muted' }, t('day.tasks.unavailable'));
  if (!tasks.length) return h('p', { class: 'muted' }, t('day.tasks.none'));
  const groups = [];
  for (const k of [...KINDS, ...new Set(tasks.map((x) => x.kind))]) {
    if (groups.some((g) => g.kind === k)) continue;
    const mine = tasks.filter((x) => x.kind === k);
    if (mine.length) groups.push({ kind: k, items: mine, total: mine.length });
  }
  let names = new Map();
  try {
    names = await customerNames(groups.flatMap((g) => g.items.map((x) => x.customer_id)).filter(Boolean));
  } catch { /* shown as #id */ }
  return h('div', {}, groups.map((g) => {
    const list = h('ul', { class: 'list' }, g.items.map((x, i) => {
      const li = taskItem(app, x, names);
      if (i >= FIRST) li.hidden = true;
      return li;
    }));
    return h('section', { class: 'task-group' },
      h('h3', {}, label('task', g.kind), ' ', h('span', { class: 'badge' }, String(g.total))),
      list, showAll(list));
  }));
}

function bar(made, required) {
  const pct = required ? Math.min(100, Math.round((made / required) * 100)) : 100;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(required), 'aria-valuenow': String(Math.min(made, required)) },
    h('span', { style: `width:${pct}%` }));
}

/** Today's compliance of the logged-in manager (quota and cadence), or null for other roles. */
export async function myCompliance(app) {
  if (!app.care || app.user.role !== 'manager') return null;
  const d = today();
  const r = await api(`/care/compliance?from=${d}&to=${d}`);
  return r.managers.find((m) => m.manager_id === app.user.id) || null;
}

export function quotaSection(me) {
  const day = me?.quota?.days?.[0];
  if (!day) return null;
  if (!day.working_day) return card(t('day.quota'), h('p', { class: 'muted' }, t('care.quota.rest')));
  const rows = [['new_customer_visits', 'care.quota.new'], ['existing_customer_visits', 'care.quota.existing'], ['calls', 'care.quota.calls']];
  return card(t('day.quota'), h('ul', { class: 'list', 'data-testid': 'quota' }, rows.map(([k, text]) => {
    const [required, made] = day[k];
    return h('li', {}, h('div', { class: 'row' }, h('span', {}, t(text)), h('span', {}, `${made} / ${required}`)), bar(made, required));
  })), day.met ? alertBox(t('care.quota.met'), 'ok') : null);
}

/** What one line behind a cadence standard lacks: "拜访：本季度已 0 次，应 2 次（到今天应 1 次，截至 …）". */
export function cadenceLine(l) {
  return t('day.cadence.line', {
    what: t(`cad.counted.${l.counted}`), made: l.made, required: l.required, due: l.due_so_far,
    per: t(`day.cadence.per.${l.per}`), end: date(l.period_end),
  });
}

/**
 * The manager's customers behind their cadence standard (SPEC §4, 003 A13):
 * each with what is short in the current period, the ones furthest behind
 * first, and the actions of its open cadence task (so the task list need
 * not show them again).
 */
export async function cadenceSection(app, me, tasks, closed = []) {
  const lines = me?.cadence?.lines_behind || [];
  const byCustomer = new Map();
  for (const l of lines) {
    if (!byCustomer.has(l.customer_id)) byCustomer.set(l.customer_id, []);
    byCustomer.get(l.customer_id).push(l);
  }
  const taskOf = new Map(tasks.filter((x) => x.customer_id).map((x) => [x.customer_id, x]));
  // A customer whose cadence task was skipped, snoozed or done today stays
  // listed while behind, with what became of the task instead of buttons.
  const closedOf = new Map(closed.filter((x) => x.customer_id && !taskOf.has(x.customer_id)).map((x) => [x.customer_id, x]));
  for (const cid of taskOf.keys()) if (!byCustomer.has(cid)) byCustomer.set(cid, []);
  if (!byCustomer.size) return h('p', { class: 'muted' }, t('day.cadence.none'));
  const short = (ls) => ls.reduce((n, l) => n + Math.max(0, l.due_so_far - l.made), 0);
  // Open ones first, the furthest behind first.
  const ordered = [...byCustomer.entries()].sort((a, b) => (closedOf.has(a[0]) - closedOf.has(b[0])) || short(b[1]) - short(a[1]) || a[0] - b[0]);
  const names = await customerNames(ordered.map(([cid]) => cid)).catch(() => new Map());
  const list = h('ul', { class: 'list', 'data-testid': 'cadence-behind' }, ordered.map(([cid, ls], i) => {
      const task = taskOf.get(cid);
      const gone = closedOf.get(cid);
      const detail = ls.length ? ls.map(cadenceLine).join('；') : task?.message;
      return h('li', { class: 'task', hidden: i >= FIRST, 'data-testid': task ? 'care-task' : null, 'data-kind': 'cadence' },
        h('a', { href: `#/customers/${cid}` }, names.get(cid) || `#${cid}`),
        task?.channel ? h('span', { class: 'badge' }, label('act', task.channel)) : null,
        gone ? taskState(gone) : null,
        h('div', { class: 'muted' }, detail),
        ...(task ? taskActions(app, task, null) : []));
    }));
  return h('div', {}, list, showAll(list));
}

/** "Show all N" under a list whose items after the first few are hidden. */
function showAll(list) {
  const n = list.children.length;
  if (n <= FIRST) return null;
  return h('button', {
    type: 'button', class: 'btn btn-small',
    onclick: (ev) => {
      for (const li of list.children) li.hidden = false;
      ev.currentTarget.remove();
      list.children[FIRST]?.querySelector('a, button')?.focus();
    },
  }, t('care.showall', { n }));
}
