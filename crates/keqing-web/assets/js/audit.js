// 审计日志 (管理 › 审计日志, #/admin/audit?…): who did what to which record,
// and when, a page at a time, filtered by the server (GET /audit: user_id,
// action, entity, entity_id, from, to, page). The filters live in the
// address, so a filtered view can be reloaded, bookmarked and sent. Actions
// and kinds of record are shown in the user's language, records by name, and
// a change as its fields' old → new values.
import { api } from './api.js';
import { t, has, label, getLang } from './i18n.js';
import { h, field, select, card, alertBox, errorText, fieldErrors } from './ui.js';
import { dateTime } from './format.js';

const PER_PAGE = 50;
const ACTIONS = ['create', 'update', 'delete', 'restore', 'merge', 'transfer', 'release', 'claim', 'import', 'export',
  'login', 'logout', 'login_failed', 'login_throttled', 'password_change', 'password_reset', 'register_change',
  'run', 'done', 'skipped', 'snoozed', 'apply_analysis'];
const ENTITIES = ['customer', 'contact', 'user', 'team', 'region', 'care_task', 'care_tasks', 'care_template',
  'care_settings', 'analysis_snapshot', 'custom_fields', 'change_report', 'order', 'payment'];
const FILTERS = ['user_id', 'action', 'entity', 'entity_id', 'from', 'to'];
/** Detail members shown otherwise (the record's name, the old and new values). */
const SHOWN = new Set(['old', 'new', 'fields', 'name', 'username', 'ids', 'merged', 'to', 'customer_id']);

const actionText = (a) => (has(`aud.a.${a}`) ? t(`aud.a.${a}`) : a);
const entityText = (e) => (has(`aud.e.${e}`) ? t(`aud.e.${e}`) : e);
const fieldText = (f) => {
  if (has(`aud.k.${f}`)) return t(`aud.k.${f}`);
  return has(`f.${f}`) ? t(`f.${f}`) : f;
};

/** The address of the audit page with `params` (empty ones left out). */
function href(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return `#/admin/audit${s ? `?${s}` : ''}`;
}

/** A value of a changed field, as a user reads it. */
function valueText(app, f, v, names) {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return t('aud.empty');
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (f === 'role') return label('role', v);
  if (f === 'team_id') return names.get(`team:${v}`) || app.teams.find((x) => x.id === v)?.name || `#${v}`;
  if (['stage', 'business_stage', 'kind', 'company_type', 'source', 'level'].includes(f)) return label(f, v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join('、');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Each field's old → new; a member that is an object (the card) by its own members. */
function changes(app, d, names) {
  const rows = [];
  const add = (f, was, now) => {
    if (JSON.stringify(was ?? null) === JSON.stringify(now ?? null)) return;
    const bothObjects = [was, now].every((x) => x === null || x === undefined || (typeof x === 'object' && !Array.isArray(x)));
    if (bothObjects && (was || now)) {
      for (const k of new Set([...Object.keys(was || {}), ...Object.keys(now || {})])) add(k, was?.[k], now?.[k]);
      return;
    }
    const long = (s) => (s.length > 80 ? `${s.slice(0, 79)}…` : s);
    const a = valueText(app, f, was, names);
    const b = valueText(app, f, now, names);
    rows.push(h('li', { 'data-field': f },
      h('span', { class: 'muted' }, fieldText(f), t('common.colon')),
      h('span', { class: 'old', title: a }, long(a)), ' → ', h('strong', { class: 'new', title: b }, long(b))));
  };
  for (const f of new Set([...Object.keys(d.old || {}), ...Object.keys(d.new || {})])) add(f, d.old?.[f], d.new?.[f]);
  return rows;
}

/** What a line's detail says, in words: old → new, the records it names, the rest as field: value. */
function detailView(app, line, names) {
  const d = line.detail;
  if (!d || typeof d !== 'object' || Array.isArray(d)) return '';
  const items = [];
  if (d.old && d.new) items.push(...changes(app, d, names));
  else if (Array.isArray(d.fields) && d.fields.length) {
    // An update logged before the values were kept: its fields only.
    items.push(h('li', {}, d.fields.map(fieldText).join('、')));
  }
  const mentioned = (entity) => line.mentions.filter((m) => m.entity === entity);
  const customers = mentioned('customer');
  if (customers.length) {
    const listed = customers.map((m) => m.name || `#${m.id}`).join('、');
    const more = Array.isArray(d.ids) && d.ids.length > customers.length ? ` ${t('aud.more', { n: d.ids.length })}` : '';
    items.push(h('li', {}, h('span', { class: 'muted' }, entityText('customer'), t('common.colon')), listed, more));
  }
  const to = mentioned('user')[0];
  if (to) items.push(h('li', {}, h('span', { class: 'muted' }, t('aud.to'), ' '), to.name || `#${to.id}`));
  for (const [k, v] of Object.entries(d)) {
    if (SHOWN.has(k) || v === null || typeof v === 'object') continue;
    if (k === 'sessions_ended') { items.push(h('li', {}, t('aud.sessions', { n: v }))); continue; }
    if (k === 'reason') { items.push(h('li', {}, h('span', { class: 'muted' }, t('aud.reason'), t('common.colon')), String(v))); continue; }
    items.push(h('li', {}, h('span', { class: 'muted' }, fieldText(k), t('common.colon')), valueText(app, k, v, names)));
  }
  return items.length ? h('ul', { class: 'plain audit-detail' }, items) : '';
}

/** The record of a line: its kind, its name (a link to its lines only), and a customer's page. */
function recordView(line, params) {
  if (!line.entity_id && !line.record) return entityText(line.entity);
  const name = line.record || `#${line.entity_id}`;
  const parts = [h('span', { class: 'muted' }, entityText(line.entity), ' · ')];
  if (line.entity_id) {
    parts.push(h('a', {
      href: href({ ...params, entity: line.entity, entity_id: line.entity_id, page: '' }),
      title: t('aud.only.label', { name }), 'data-testid': 'audit-record',
    }, name));
    if (line.entity === 'customer') parts.push(' ', h('a', { href: `#/customers/${line.entity_id}`, class: 'muted' }, t('common.open')));
  } else {
    parts.push(name);
  }
  return parts;
}

function filterForm(app, params) {
  const users = [...app.users.values()].sort((a, b) => a.id - b.id);
  const c = {
    user_id: select([['', t('aud.any')], ...users.map((u) => [u.id, `${u.display_name}（${u.username}）`])], params.user_id, { 'data-testid': 'audit-user' }),
    action: select([['', t('aud.any')], ...ACTIONS.map((a) => [a, actionText(a)])], params.action, { 'data-testid': 'audit-action' }),
    entity: select([['', t('aud.any')], ...ENTITIES.map((e) => [e, entityText(e)])], params.entity, { 'data-testid': 'audit-entity' }),
    entity_id: h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: params.entity_id || '', 'data-testid': 'audit-entity-id' }),
    from: h('input', { type: 'date', value: params.from || '', 'data-testid': 'audit-from' }),
    to: h('input', { type: 'date', value: params.to || '', 'data-testid': 'audit-to' }),
  };
  const form = h('form', {
    class: 'filters audit-filters', role: 'search', 'aria-label': t('aud.filters'),
    onsubmit: (ev) => {
      ev.preventDefault();
      const next = Object.fromEntries(FILTERS.map((k) => [k, c[k].value.trim()]));
      location.hash = href(next);
    },
  },
  field(t('f.user_id'), c.user_id), field(t('f.action'), c.action), field(t('f.entity'), c.entity),
  field(t('f.entity_id'), c.entity_id), field(t('f.from'), c.from), field(t('f.to'), c.to),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'btn btn-primary' }, t('aud.filter')),
    h('a', { href: '#/admin/audit', class: 'btn' }, t('aud.reset'))));
  return form;
}

/** The audit tab of 管理, filtered as the address says. */
export async function auditTab(app, query) {
  const params = Object.fromEntries(FILTERS.map((k) => [k, query?.get(k) || '']));
  const page = Math.max(1, Number(query?.get('page')) || 1);
  const q = new URLSearchParams();
  for (const k of FILTERS) if (params[k]) q.set(k, params[k]);
  q.set('page', page);
  q.set('per_page', PER_PAGE);
  const parts = [h('p', { class: 'muted' }, t('aud.intro')), filterForm(app, params)];
  let r;
  try {
    r = await api(`/audit?${q}`);
  } catch (e) {
    const errs = fieldErrors(e);
    parts.push(alertBox(errs.size ? [...errs].map(([f, m]) => `${fieldText(f)}${t('common.colon')}${m}`).join(getLang() === 'en' ? '; ' : '；') : errorText(e)));
    return card(t('adm.audit'), ...parts);
  }
  const names = new Map(r.items.flatMap((l) => l.mentions.map((m) => [`${m.entity}:${m.id}`, m.name])));
  const pages = Math.max(1, Math.ceil(r.total / r.per_page));
  parts.push(h('p', { class: 'muted', 'data-testid': 'audit-total', 'aria-live': 'polite' },
    r.capped ? t('aud.capped', { n: r.total }) : t('aud.total', { n: r.total })));
  if (!r.items.length) {
    parts.push(alertBox(t('aud.none'), 'info'));
  } else {
    parts.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table audit', 'data-testid': 'audit' },
      h('thead', {}, h('tr', {}, ['adm.at', 'adm.who', 'adm.action', 'aud.record', 'aud.detail'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.items.map((l) => h('tr', { 'data-action': l.action, 'data-entity': l.entity },
        h('td', { class: 'nowrap' }, dateTime(l.at)),
        h('td', {}, l.user_id ? (l.user_name || app.userName(l.user_id)) : h('span', { class: 'muted' }, t('aud.system'))),
        h('td', { class: 'nowrap' }, actionText(l.action)),
        h('td', {}, recordView(l, params)),
        h('td', {}, detailView(app, l, names))))))));
  }
  if (pages > 1) {
    const go = (p) => href({ ...params, page: p > 1 ? p : '' });
    parts.push(h('nav', { class: 'pager', 'aria-label': t('common.page', { page, pages, total: r.total }) },
      page > 1 ? h('a', { href: go(page - 1), class: 'btn', rel: 'prev' }, t('common.prev')) : null,
      h('span', {}, t('common.page', { page, pages, total: r.total })),
      page < pages ? h('a', { href: go(page + 1), class: 'btn', rel: 'next' }, t('common.next')) : null));
  }
  const c = card(t('adm.audit'), ...parts);
  c.dataset.testid = 'audit-card';
  return c;
}
