// 客户: search as you type (every word must match), filters that apply as
// they change (the slipping-away ones too: RFM class, P(alive), days since
// the last purchase or follow-up), sort, bulk transfer and release to the
// pool, export.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, field, select, alertBox, errorText, toast, download, csvCell, id } from './ui.js';
import { date } from './format.js';
import { releaseToPool, confirmTransfer } from './pool.js';

const STAGES = ['to_identify', 'potential', 'opportunity', 'order_customer', 'user'];
const SORTS = ['id', 'name', 'updated', 'follow_up', 'purchase', 'p_alive'];
const RFM = ['important_value', 'important_develop', 'important_keep', 'important_retain',
  'general_value', 'general_develop', 'general_keep', 'general_retain'];
const P_ALIVE = ['0.1', '0.2', '0.3', '0.5', '0.7'];
const PURCHASE_DAYS = ['30', '60', '90', '180', '365'];
const FOLLOW_UP_DAYS = ['7', '14', '30', '60', '90'];
/** The list's state in the address, and which of it the API takes as it is. */
const FILTERS = ['q', 'class', 'tier', 'stage', 'tag', 'region', 'owner', 'mine', 'pool', 'rfm', 'p_alive_below',
  'no_purchase_days', 'no_follow_up_days', 'sort', 'page'];
const API_KEYS = ['q', 'class', 'tier', 'stage', 'tag', 'region', 'owner', 'rfm', 'p_alive_below',
  'no_purchase_days', 'no_follow_up_days', 'sort'];

/** The list's query for the API as `state` says. */
function listQuery(state, extra) {
  const q = new URLSearchParams(extra);
  for (const k of API_KEYS) if (state[k]) q.set(k, state[k]);
  if (state.mine) q.set('mine', 'true');
  if (state.pool) q.set('pool', 'true');
  return q;
}

export async function customers(app, { params }) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const selected = new Map();
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const bulk = h('div', { class: 'bulk' });

  const syncHash = () => {
    const q = new URLSearchParams(Object.entries(state).filter(([, v]) => v));
    history.replaceState(null, '', `#/customers${q.toString() ? `?${q}` : ''}`);
  };

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const q = listQuery(state, { per_page: '25' });
    if (state.page) q.set('page', state.page);
    try {
      const r = await api(`/customers?${q}`);
      if (mine !== seq) return;
      renderTable(r);
    } catch (e) {
      if (mine !== seq) return;
      clear(results).append(alertBox(errorText(e)));
    }
  }

  const set = (k, v, reload = true) => {
    state[k] = v;
    if (k !== 'page') state.page = '';
    syncHash();
    if (reload) load();
  };

  // Text applies a moment after the last keystroke; a choice at once.
  const timers = {};
  const later = (k, ms = 300) => (ev) => { clearTimeout(timers[k]); timers[k] = setTimeout(() => set(k, ev.target.value.trim()), ms); };
  const typed = (k, attrs = {}) => h('input', { value: state[k], autocomplete: 'off', oninput: later(k), onchange: (e) => { clearTimeout(timers[k]); if (e.target.value.trim() !== state[k]) set(k, e.target.value.trim()); }, ...attrs });
  const choice = (k, options) => select([['', t('common.all')], ...options], state[k], { onchange: (e) => set(k, e.target.value) });
  const qInput = h('input', {
    type: 'search', value: state.q, placeholder: t('cust.q.placeholder'), autocomplete: 'off', 'data-testid': 'customer-search',
    oninput: later('q', 150),
  });
  // The region filter offers the provinces of the caller's customers (the
  // API finds them in its scope), then the deployment's other regions; the
  // tag field suggests the tags in use. Both fill in when they come: the
  // list does not wait for them.
  const tagList = h('datalist', { id: id('tags') });
  const regionSelect = choice('region', state.region ? [[state.region, state.region]] : []);
  regionSelect.dataset.testid = 'region-filter';
  Promise.all([
    api('/customers/facets').catch(() => ({ provinces: [], tags: [] })),
    api('/regions').then((r) => r.items.map((x) => x.name)).catch(() => []),
  ]).then(([facets, defined]) => {
    const regions = [...facets.provinces];
    for (const r of defined) if (!regions.includes(r)) regions.push(r);
    if (state.region && !regions.includes(state.region)) regions.push(state.region);
    regionSelect.replaceChildren(...[['', t('common.all')], ...regions.map((r) => [r, r])]
      .map(([v, text]) => h('option', { value: v, selected: v === state.region }, text)));
    regionSelect.dataset.loaded = 'true';
    tagList.replaceChildren(...facets.tags.map((x) => h('option', { value: x })));
  });
  const owners = [...app.users.values()].filter((u) => ['manager', 'supervisor'].includes(u.role) || u.id === app.user.id);
  // Whoever owns customers may narrow the list to theirs (the others see
  // the pool, their team or everyone's beside them).
  const mayOwn = !['finance', 'agent'].includes(app.user.role);
  const checkbox = (k, text, testid) => {
    const box = h('input', { type: 'checkbox', id: id('f'), checked: !!state[k], 'data-testid': testid, onchange: (e) => set(k, e.target.checked ? '1' : '') });
    return h('div', { class: 'field field-check' }, box, h('label', { for: box.id }, text));
  };
  const filters = h('div', { class: 'filters', 'data-testid': 'customer-filters' },
    field(t('cust.q'), qInput, t('cust.q.words')),
    field(t('f.class'), choice('class', ['A', 'B', 'C', 'D'].map((c) => [c, c]))),
    field(t('f.tier'), typed('tier')),
    field(t('f.stage'), choice('stage', STAGES.map((x) => [x, label('stage', x)]))),
    field(t('f.tags'), typed('tag', { list: tagList.id, placeholder: t('list.tag.placeholder') })), tagList,
    field(t('f.region'), regionSelect),
    owners.length > 1
      ? field(t('cust.owner'), select([['', t('common.all')], ...owners.map((u) => [u.id, u.display_name])], state.owner, { onchange: (e) => set('owner', e.target.value) }))
      : null,
    field(t('list.rfm'), choice('rfm', RFM.map((r) => [r, t(`rfm.${r}`)]))),
    field(t('list.p_alive'), select([['', t('list.any')], ...P_ALIVE.map((p) => [p, t('list.below', { p: `${Math.round(p * 100)}%` })])], state.p_alive_below, { onchange: (e) => set('p_alive_below', e.target.value) })),
    field(t('list.no_purchase'), select([['', t('list.any')], ...PURCHASE_DAYS.map((d) => [d, t('list.days', { d })])], state.no_purchase_days, { onchange: (e) => set('no_purchase_days', e.target.value) })),
    field(t('list.no_follow_up'), select([['', t('list.any')], ...FOLLOW_UP_DAYS.map((d) => [d, t('list.days', { d })])], state.no_follow_up_days, { onchange: (e) => set('no_follow_up_days', e.target.value) })),
    field(t('cust.sort'), select(SORTS.map((x) => [x, t(`cust.sort.${x}`)]), state.sort || 'id', { onchange: (e) => set('sort', e.target.value === 'id' ? '' : e.target.value) })),
    mayOwn ? checkbox('mine', t('list.mine'), 'filter-mine') : null,
    checkbox('pool', t('cust.pool'), 'filter-pool'),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { for (const k of FILTERS) state[k] = ''; syncHash(); app.refresh(); } }, t('cust.reset')));

  function sortHeader(key, text) {
    const on = (state.sort || 'id') === key;
    return h('th', { scope: 'col', 'aria-sort': on ? 'ascending' : null },
      h('button', { type: 'button', class: 'th-sort', onclick: () => set('sort', key === 'id' ? '' : key) }, text, on ? ' ▲' : ''));
  }

  function renderBulk() {
    clear(bulk);
    if (!app.isSupervisor() || !selected.size) return;
    // No target until one is chosen: a transfer to oneself by mistake is
    // as easy to make as any other.
    const to = select([['', t('list.transfer.pick')], ...owners.filter((u) => u.active !== false).map((u) => [u.id, u.display_name])], '', { required: true, 'data-testid': 'transfer-to' });
    const note = h('small', { class: 'field-error', role: 'alert', hidden: true });
    const reason = h('input', { required: true, maxlength: 200, 'data-testid': 'transfer-reason', oninput: () => { note.hidden = true; } });
    const complain = (text, el) => { note.textContent = text; note.hidden = false; el.focus(); };
    const go = h('button', {
      type: 'button', class: 'btn btn-primary',
      onclick: async () => {
        note.hidden = true;
        if (!to.value) return complain(t('list.transfer.no_target'), to);
        if (!reason.value.trim()) return complain(t('pool.reason.required'), reason);
        const n = await confirmTransfer({
          ids: [...selected.keys()], to: Number(to.value), toName: app.userName(Number(to.value)), why: reason.value.trim(),
        });
        if (n === null) return;
        toast(t('cust.transfer.done', { n }));
        selected.clear();
        renderBulk();
        load();
      },
    }, t('cust.transfer.go', { n: selected.size }));
    const release = h('button', {
      type: 'button', class: 'btn', 'data-testid': 'bulk-release',
      onclick: async () => {
        const done = await releaseToPool([...selected].map(([cid, name]) => ({ id: cid, name })));
        if (done === null) return;
        selected.clear();
        renderBulk();
        load();
      },
    }, t('list.release.go', { n: selected.size }));
    bulk.append(h('div', { class: 'bulk-bar', role: 'region', 'aria-label': t('cust.transfer') },
      field(t('cust.transfer.to'), to), field(t('cust.transfer.reason'), reason), go, release, note));
  }

  function renderTable(r) {
    clear(results);
    const pages = Math.max(1, Math.ceil(r.total / r.per_page));
    results.append(h('p', { class: 'muted' }, r.total_capped
      ? t(state.q ? 'cust.count_capped_search' : 'cust.count_capped', { n: r.total.toLocaleString('zh-CN') })
      : t('cust.count', { n: r.total })));
    if (!r.items.length) { results.append(h('p', {}, t('cust.none'))); return; }
    const sup = app.isSupervisor();
    const all = sup ? h('input', {
      type: 'checkbox', 'aria-label': t('cust.selectall'),
      onchange: (e) => { for (const c of r.items) e.target.checked ? selected.set(c.id, c.name) : selected.delete(c.id); renderTable(r); renderBulk(); },
      checked: r.items.every((c) => selected.has(c.id)),
    }) : null;
    const pct = (p) => (p === null || p === undefined ? '—' : `${Math.round(p * 100)}%`);
    const table = h('table', { class: 'table customer-list' },
      h('thead', {}, h('tr', {},
        sup ? h('th', { scope: 'col' }, all) : null,
        sortHeader('name', t('f.name')),
        h('th', { scope: 'col' }, t('f.class')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.tier')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.stage')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.region')),
        h('th', { scope: 'col' }, t('cust.owner')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('list.rfm')),
        sortHeader('p_alive', t('list.col.p_alive')),
        sortHeader('purchase', t('list.col.purchase')),
        sortHeader('follow_up', t('cust.lastfollow')))),
      h('tbody', {}, r.items.map((c) => h('tr', { 'data-id': c.id, 'data-province': c.province || '' },
        sup ? h('td', {}, h('input', {
          type: 'checkbox', 'aria-label': t('cust.select', { name: c.name }), checked: selected.has(c.id),
          onchange: (e) => { e.target.checked ? selected.set(c.id, c.name) : selected.delete(c.id); renderBulk(); },
        })) : null,
        h('td', {}, h('a', { href: `#/customers/${c.id}` }, c.name), c.key_customer ? h('span', { class: 'badge' }, '★') : null),
        h('td', {}, c.class || ''),
        h('td', { class: 'hide-sm' }, c.tier || ''),
        h('td', { class: 'hide-sm' }, label('stage', c.stage)),
        h('td', { class: 'hide-sm' }, [c.province, c.city].filter(Boolean).join(' ')),
        h('td', {}, app.userName(c.owner_id, c.owner_name)),
        h('td', { class: 'hide-sm' }, c.rfm_class ? label('rfm', c.rfm_class) : '—'),
        h('td', { class: 'num', 'data-p-alive': c.p_alive ?? '' }, pct(c.p_alive)),
        h('td', { 'data-last-order': c.last_order_at || '' }, c.last_order_at ? date(c.last_order_at) : '—'),
        h('td', {}, c.last_follow_up_at ? date(c.last_follow_up_at) : '—')))));
    const page = Number(state.page || 1);
    results.append(h('div', { class: 'table-wrap' }, table),
      h('nav', { class: 'pager', 'aria-label': t('common.page', { page, pages, total: r.total }) },
        h('button', { type: 'button', class: 'btn btn-small', disabled: page <= 1, onclick: () => set('page', String(page - 1)) }, t('common.prev')),
        h('span', {}, t('common.page', { page, pages, total: r.total })),
        h('button', { type: 'button', class: 'btn btn-small', disabled: page >= pages, onclick: () => set('page', String(page + 1)) }, t('common.next'))));
  }

  /** The list as filtered now, every page of it, as CSV made in the browser. */
  async function exportList(btn) {
    btn.disabled = true;
    try {
      const rows = [];
      for (let page = 1; ; page += 1) {
        const q = listQuery(state, { per_page: '200', page: String(page) });
        const r = await api(`/customers?${q}`);
        rows.push(...r.items);
        if (r.items.length < 200 || (!r.total_capped && rows.length >= r.total)) break;
      }
      const head = ['ID', t('f.name'), t('f.class'), t('f.tier'), t('f.stage'), t('f.province'), t('f.city'), t('f.phone'), t('cust.owner'), t('cust.lastfollow'), t('f.tags')];
      const body = rows.map((c) => [c.id, c.name, c.class, c.tier, label('stage', c.stage), c.province, c.city, c.phone,
        app.userName(c.owner_id, c.owner_name), c.last_follow_up_at ? date(c.last_follow_up_at) : '', (c.tags || []).join('、')].map(csvCell).join(','));
      download('customers-list.csv', [head.map(csvCell).join(','), ...body].join('\r\n'));
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      btn.disabled = false;
    }
  }

  const lang = document.documentElement.lang === 'en' ? 'en' : 'zh';
  const listBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'export-list', onclick: () => exportList(listBtn) }, t('cust.export.list'));
  const exportBar = h('div', { class: 'actions' },
    listBtn,
    h('a', { class: 'btn', href: `/api/v1/exports/customers?format=csv&lang=${lang}`, download: true }, t('cust.export.csv')),
    h('a', { class: 'btn', href: `/api/v1/exports/contacts?format=csv&lang=${lang}`, download: true, 'data-testid': 'export-contacts' }, t('exp.contacts.csv')),
    h('a', { class: 'btn', href: `/api/v1/exports/customers?format=xlsx&lang=${lang}`, download: true, title: t('exp.xlsx.note') }, t('cust.export.xlsx')),
    h('small', { class: 'muted', title: t('exp.note') }, t('cust.export.all')));

  load();
  return h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, t('cust.title')),
      app.can('customer', 'create') ? h('a', { class: 'btn btn-primary', href: '#/customers/new', 'data-testid': 'customer-new' }, t('nc.button')) : null,
      exportBar),
    filters, bulk, results);
}
