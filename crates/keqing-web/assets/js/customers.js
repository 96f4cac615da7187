// 客户: search as you type, filters, sort, bulk transfer, export.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, field, select, alertBox, errorText, toast, download, csvCell } from './ui.js';
import { date } from './format.js';

const STAGES = ['to_identify', 'potential', 'opportunity', 'order_customer', 'user'];
const SORTS = ['id', 'name', 'updated', 'follow_up'];
const FILTERS = ['q', 'class', 'tier', 'stage', 'tag', 'region', 'owner', 'pool', 'sort', 'page'];

export async function customers(app, { params }) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  // The region filter picks from the deployment's regions (provinces).
  const regions = await api('/regions').then((r) => r.items.map((x) => x.name)).catch(() => []);
  if (state.region && !regions.includes(state.region)) regions.push(state.region);
  const selected = new Set();
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const bulk = h('div', { class: 'bulk' });

  const syncHash = () => {
    const q = new URLSearchParams(Object.entries(state).filter(([, v]) => v));
    history.replaceState(null, '', `#/customers${q.toString() ? `?${q}` : ''}`);
  };

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const q = new URLSearchParams({ per_page: '25' });
    for (const k of ['q', 'class', 'tier', 'stage', 'tag', 'region', 'owner', 'sort', 'page']) if (state[k]) q.set(k, state[k]);
    if (state.pool) q.set('pool', 'true');
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

  let timer;
  const qInput = h('input', {
    type: 'search', value: state.q, placeholder: t('cust.q.placeholder'), autocomplete: 'off', 'data-testid': 'customer-search',
    oninput: (ev) => { clearTimeout(timer); timer = setTimeout(() => set('q', ev.target.value.trim()), 150); },
  });
  const owners = [...app.users.values()].filter((u) => ['manager', 'supervisor'].includes(u.role) || u.id === app.user.id);
  const filters = h('div', { class: 'filters' },
    field(t('cust.q'), qInput),
    field(t('f.class'), select([['', t('common.all')], ...['A', 'B', 'C', 'D'].map((c) => [c, c])], state.class, { onchange: (e) => set('class', e.target.value) })),
    field(t('f.tier'), h('input', { value: state.tier, onchange: (e) => set('tier', e.target.value.trim()) })),
    field(t('f.stage'), select([['', t('common.all')], ...STAGES.map((s) => [s, label('stage', s)])], state.stage, { onchange: (e) => set('stage', e.target.value) })),
    field(t('f.tags'), h('input', { value: state.tag, onchange: (e) => set('tag', e.target.value.trim()) })),
    field(t('f.region'), select([['', t('common.all')], ...regions.map((r) => [r, r])], state.region, { onchange: (e) => set('region', e.target.value) })),
    owners.length > 1
      ? field(t('cust.owner'), select([['', t('common.all')], ...owners.map((u) => [u.id, u.display_name])], state.owner, { onchange: (e) => set('owner', e.target.value) }))
      : null,
    field(t('cust.sort'), select(SORTS.map((s) => [s, t(`cust.sort.${s}`)]), state.sort || 'id', { onchange: (e) => set('sort', e.target.value === 'id' ? '' : e.target.value) })),
    h('div', { class: 'field field-check' },
      h('input', { type: 'checkbox', id: 'f-pool', checked: !!state.pool, onchange: (e) => set('pool', e.target.checked ? '1' : '') }),
      h('label', { for: 'f-pool' }, t('cust.pool'))),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { for (const k of FILTERS) state[k] = ''; syncHash(); app.refresh(); } }, t('cust.reset')));

  function sortHeader(key, text) {
    const on = (state.sort || 'id') === key;
    return h('th', { scope: 'col', 'aria-sort': on ? 'ascending' : null },
      h('button', { type: 'button', class: 'th-sort', onclick: () => set('sort', key === 'id' ? '' : key) }, text, on ? ' ▲' : ''));
  }

  function renderBulk() {
    clear(bulk);
    if (!app.isSupervisor() || !selected.size) return;
    const to = select(owners.filter((u) => u.active !== false).map((u) => [u.id, u.display_name]), '');
    const reason = h('input', {});
    const go = h('button', {
      type: 'button', class: 'btn btn-primary',
      onclick: async () => {
        go.disabled = true;
        try {
          const r = await api('/customers/transfer', { method: 'POST', body: { ids: [...selected], to_user: Number(to.value), reason: reason.value } });
          toast(t('cust.transfer.done', { n: r.transferred }));
          selected.clear();
          renderBulk();
          load();
        } catch (e) { toast(errorText(e), 'error'); go.disabled = false; }
      },
    }, t('cust.transfer.go', { n: selected.size }));
    bulk.append(h('div', { class: 'bulk-bar', role: 'region', 'aria-label': t('cust.transfer') },
      field(t('cust.transfer.to'), to), field(t('cust.transfer.reason'), reason), go));
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
      onchange: (e) => { for (const c of r.items) e.target.checked ? selected.add(c.id) : selected.delete(c.id); renderTable(r); renderBulk(); },
      checked: r.items.every((c) => selected.has(c.id)),
    }) : null;
    const table = h('table', { class: 'table' },
      h('thead', {}, h('tr', {},
        sup ? h('th', { scope: 'col' }, all) : null,
        sortHeader('name', t('f.name')),
        h('th', { scope: 'col' }, t('f.class')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.tier')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.stage')),
        h('th', { scope: 'col', class: 'hide-sm' }, t('f.region')),
        h('th', { scope: 'col' }, t('cust.owner')),
        sortHeader('follow_up', t('cust.lastfollow')))),
      h('tbody', {}, r.items.map((c) => h('tr', {},
        sup ? h('td', {}, h('input', {
          type: 'checkbox', 'aria-label': t('cust.select', { name: c.name }), checked: selected.has(c.id),
          onchange: (e) => { e.target.checked ? selected.add(c.id) : selected.delete(c.id); renderBulk(); },
        })) : null,
        h('td', {}, h('a', { href: `#/customers/${c.id}` }, c.name), c.key_customer ? h('span', { class: 'badge' }, '★') : null),
        h('td', {}, c.class || ''),
        h('td', { class: 'hide-sm' }, c.tier || ''),
        h('td', { class: 'hide-sm' }, label('stage', c.stage)),
        h('td', { class: 'hide-sm' }, [c.province, c.city].filter(Boolean).join(' ')),
        h('td', {}, app.userName(c.owner_id, c.owner_name)),
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
        const q = new URLSearchParams({ per_page: '200', page: String(page) });
        for (const k of ['q', 'class', 'tier', 'stage', 'tag', 'region', 'owner', 'sort']) if (state[k]) q.set(k, state[k]);
        if (state.pool) q.set('pool', 'true');
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
    h('a', { class: 'btn', href: `/api/v1/exports/customers?format=xlsx&lang=${lang}`, download: true }, t('cust.export.xlsx')),
    h('small', { class: 'muted', title: t('cust.export.note') }, t('cust.export.all')));

  load();
  return h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, t('cust.title')),
      app.can('customer', 'create') ? h('a', { class: 'btn btn-primary', href: '#/customers/new', 'data-testid': 'customer-new' }, t('nc.button')) : null,
      exportBar),
    filters, bulk, results);
}
