// 分析: customer value over the orders the user may read (SPEC §3, §5) — the
// RFM eight-class matrix with its members, the Pareto curve and ABC classes,
// CLV (BG/NBD + Gamma-Gamma), repeat purchases and the AISAS funnel. The API
// scopes every figure to the caller's customers; ECharts is fetched only here
// (and on the customer page), the first time a chart is drawn.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, card, alertBox, errorText, field, id, select, toast, download, csvCell } from './ui.js';
import { date, dateTime, money, num, percent, yuan, today } from './format.js';
import { draw } from './chart.js';

const RED = '#b5483b';
const PER_PAGE = 20;

/** The eight RFM classes as a 2 × 4 matrix: rows 重要/一般 (M), columns 价值…挽留 (R, F). */
const RFM_ROWS = ['important', 'general'];
const RFM_COLS = ['value', 'develop', 'keep', 'retain'];
const STAGES = ['attention', 'interest', 'search', 'action', 'share'];
/** The textbook's example (SPEC §5), offered as an example, never prefilled. */
const FUNNEL_EXAMPLE = [750, 200, 150, 80, 75, 70];

/** An error as the user reads it; "no orders" is not a failure but an empty scope. */
function problem(e) {
  return e?.code === 'no_orders' ? alertBox(t('ana.no_orders'), 'info') : alertBox(errorText(e));
}

/** A chart box with a text alternative (the same figures are in the tables next to it). */
function chartBox(testid, alt, cls = 'chart chart-tall') {
  return h('div', { class: cls, role: 'img', 'aria-label': alt, 'data-testid': testid });
}

function table(testid, heads, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': testid },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, k)))),
    h('tbody', {}, rows)));
}

/** A member list with a pager: `load(page)` resolves to {items, total, page, per_page}. */
function memberList(box, testid, title, heads, row, load) {
  const show = async (page) => {
    // Only the latest click fills the list, whichever answer arrives last.
    const mine = String(Number(box.dataset.seq || 0) + 1);
    box.dataset.seq = mine;
    clear(box).append(h('p', { class: 'muted' }, t('common.loading')));
    try {
      const m = await load(page);
      if (box.dataset.seq !== mine) return;
      const pages = Math.max(1, Math.ceil(m.total / m.per_page));
      const hid = id('h');
      clear(box).append(h('section', { 'aria-labelledby': hid, class: 'members' },
        h('h3', { id: hid, tabindex: '-1' }, title, ' ', h('span', { class: 'muted' }, t('ana.members.count', { n: num(m.total) }))),
        m.items.length
          ? table(testid, heads, m.items.map((x) => h('tr', {}, row(x))))
          : h('p', { class: 'muted' }, t('common.empty')),
        pages > 1 ? h('nav', { class: 'pager', 'aria-label': t('ana.members.pages') },
          h('button', { type: 'button', class: 'btn btn-small', disabled: m.page <= 1, onclick: () => show(m.page - 1) }, t('common.prev')),
          h('span', {}, t('common.page', { page: m.page, pages, total: m.total })),
          h('button', { type: 'button', class: 'btn btn-small', disabled: m.page >= pages, onclick: () => show(m.page + 1) }, t('common.next'))) : null));
      box.querySelector('h3')?.focus({ preventScroll: false });
    } catch (e) {
      if (box.dataset.seq === mine) clear(box).append(problem(e));
    }
  };
  return show;
}

function nameLink(x) {
  return h('a', { href: `#/customers/${x.customer_id}` }, x.name || `#${x.customer_id}`);
}

// 1. RFM -------------------------------------------------------------------

function rfmSection(r) {
  const s = r.summary;
  const members = h('div', { 'aria-live': 'polite' });
  const cells = [];
  const pick = (key, btn) => {
    for (const c of cells) c.setAttribute('aria-pressed', String(c === btn));
    memberList(members, 'rfm-members', label('rfm', key),
      [t('ana.customer'), t('ana.rfm.r'), t('ana.rfm.f'), t('ana.rfm.m'), t('ana.rfm.score')],
      (x) => [h('th', { scope: 'row' }, nameLink(x)), h('td', {}, t('common.days', { n: num(x.r) })),
        h('td', {}, num(x.f)), h('td', { class: 'num' }, money(x.m)), h('td', {}, x.score)],
      (page) => api(`/analysis/rfm?class=${encodeURIComponent(key)}&page=${page}&per_page=${PER_PAGE}`).then((d) => d.members))(1);
  };
  const grid = h('div', { class: 'rfm-matrix', 'data-testid': 'rfm-matrix', role: 'group', 'aria-label': t('ana.rfm.matrix') },
    h('span', { class: 'rfm-corner', 'aria-hidden': 'true' }),
    RFM_COLS.map((c) => h('span', { class: 'rfm-head', 'aria-hidden': 'true' }, t(`ana.rfm.col.${c}`))),
    RFM_ROWS.map((row) => [
      h('span', { class: 'rfm-head rfm-rowhead', 'aria-hidden': 'true' }, t(`ana.rfm.row.${row}`)),
      RFM_COLS.map((col) => {
        const key = `${row}_${col}`;
        const c = s.classes[key] || { count: 0, customer_share: 0, sales_share: 0, sales: '0' };
        const btn = h('button', {
          type: 'button', class: `rfm-cell rfm-${row}`, 'data-testid': 'rfm-cell', 'data-class': key,
          'data-count': String(c.count), 'aria-pressed': 'false', disabled: c.count === 0,
          onclick: (ev) => pick(key, ev.currentTarget),
        },
        h('strong', { class: 'rfm-name' }, label('rfm', key)),
        h('span', { class: 'rfm-count' }, t('ana.rfm.count', { n: num(c.count) })),
        h('span', { class: 'rfm-share' }, t('ana.rfm.customer_share', { p: percent(c.customer_share) })),
        h('span', { class: 'rfm-share' }, t('ana.rfm.sales_share', { p: percent(c.sales_share) })));
        cells.push(btn);
        return btn;
      }),
    ]));
  const stats = h('dl', { class: 'stats' },
    h('div', { class: 'stat', 'data-testid': 'rfm-customers', 'data-value': String(s.customers) }, h('dt', {}, t('ana.customers')), h('dd', {}, num(s.customers))),
    h('div', { class: 'stat' }, h('dt', {}, t('ana.transactions')), h('dd', {}, num(s.transactions))),
    h('div', { class: 'stat' }, h('dt', {}, t('ana.rfm.mean_r')), h('dd', {}, t('common.days', { n: num(s.means.r, 1) }))),
    h('div', { class: 'stat' }, h('dt', {}, t('ana.rfm.mean_f')), h('dd', {}, num(s.means.f, 1))),
    h('div', { class: 'stat' }, h('dt', {}, t('ana.rfm.mean_m')), h('dd', {}, yuan(s.means.m))));
  return card(t('ana.rfm.title'),
    h('p', { class: 'muted' }, t('ana.rfm.intro', { date: date(s.as_of) })),
    stats, grid, h('p', { class: 'hint' }, t('ana.rfm.click')), members);
}

// 2. Pareto and ABC ----------------------------------------------------------

function abcSection(r) {
  const s = r.summary;
  const top = s.top20_share * 100;
  const chart = chartBox('pareto-chart', t('ana.abc.chart.alt', { p: percent(s.top20_share) }));
  const members = h('div', { 'aria-live': 'polite' });
  const buttons = [];
  const pick = (k, btn) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b === btn));
    memberList(members, 'abc-members', t('ana.abc.class', { c: k }),
      [t('ana.abc.rank'), t('ana.customer'), t('ana.abc.sales'), t('ana.abc.before')],
      (x) => [h('td', {}, num(x.rank)), h('th', { scope: 'row' }, nameLink(x)), h('td', { class: 'num' }, money(x.sales)), h('td', {}, percent(x.share_before))],
      (page) => api(`/analysis/abc?class=${k}&page=${page}&per_page=${PER_PAGE}`).then((d) => d.members))(1);
  };
  const rows = ['A', 'B', 'C', 'D'].map((k) => {
    const c = s.classes[k] || { customers: 0, customer_share: 0, sales_share: 0, sales: '0' };
    const btn = h('button', {
      type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', disabled: !c.customers,
      'aria-label': t('ana.abc.list', { c: k }), onclick: (ev) => pick(k, ev.currentTarget),
    }, k);
    buttons.push(btn);
    return h('tr', {}, h('th', { scope: 'row' }, btn), h('td', {}, num(c.customers)), h('td', {}, percent(c.customer_share)),
      h('td', {}, percent(c.sales_share)), h('td', { class: 'num' }, money(c.sales)));
  });
  const out = card(t('ana.abc.title'),
    h('p', { 'data-testid': 'top20' }, t('ana.abc.top20', { p: percent(s.top20_share) }), ' ',
      h('span', { class: 'muted' }, t('ana.abc.total', { v: money(s.total_sales) }))),
    chart,
    table('abc-table', [t('ana.abc.cls'), t('ana.customers'), t('ana.customer_share'), t('ana.sales_share'), t('ana.abc.sales')], rows),
    h('p', { class: 'hint' }, t('ana.abc.click')), members);
  const data = r.pareto.map((p) => [p.customer_share * 100, p.sales_share * 100]);
  // A click on the curve opens the class of the customers at that point.
  const bounds = [];
  let upTo = 0;
  for (const k of ['A', 'B', 'C', 'D']) {
    upTo += (s.classes[k]?.customer_share || 0) * 100;
    bounds.push([k, upTo]);
  }
  chart.dataset.classes = bounds.map(([k, b]) => `${k}:${b.toFixed(2)}`).join(',');
  const classAt = (x) => (bounds.find(([, b]) => x <= b + 1e-9) || bounds[bounds.length - 1])[0];
  const openAt = (x) => {
    const k = classAt(Math.max(0, Math.min(100, x)));
    const btn = buttons[['A', 'B', 'C', 'D'].indexOf(k)];
    if (btn && !btn.disabled) pick(k, btn);
  };
  draw(chart, {
    grid: { left: 52, right: 24, top: 24, bottom: 40 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => `${num(v, 2)}%` },
    xAxis: { type: 'value', min: 0, max: 100, name: t('ana.customer_share'), nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [{
      type: 'line', name: t('ana.sales_share'), data, showSymbol: false, lineStyle: { color: RED }, itemStyle: { color: RED },
      markLine: { symbol: 'none', silent: true, lineStyle: { type: 'dashed', color: '#6b7280' }, label: { show: false }, data: [{ xAxis: 20 }, { yAxis: top }] },
      markPoint: { symbolSize: 44, itemStyle: { color: RED }, label: { formatter: () => `${num(top, 1)}%`, fontSize: 10 }, data: [{ coord: [20, top], value: top }] },
    }],
  }).then((c) => {
    if (!c) return;
    chart.style.cursor = 'pointer';
    c.getZr().on('click', (e) => {
      const [x] = c.convertFromPixel({ gridIndex: 0 }, [e.offsetX, e.offsetY]);
      if (Number.isFinite(x)) openAt(x);
    });
  });
  return out;
}

// 3. CLV ---------------------------------------------------------------------

/** Compact numbers for a log axis: 1, 10, 1千, 1万, 100万. */
function compact(v) {
  return new Intl.NumberFormat(document.documentElement.lang === 'en' ? 'en' : 'zh-CN', { notation: 'compact' }).format(v);
}

function clvSection(r) {
  const chart = chartBox('clv-chart', t('ana.clv.chart.alt'));
  const members = h('div', { 'aria-live': 'polite' });
  const rows = r.top.items.map((x) => h('tr', {},
    h('th', { scope: 'row' }, nameLink(x)), h('td', {}, percent(x.p_alive, { digits: 1 })),
    h('td', {}, num(x.expected_purchases, 1)), h('td', { class: 'num' }, yuan(x.clv))));
  // Deciles from the top: 1 is the 10% of customers with the highest CLV.
  const buttons = [];
  const pick = (d) => {
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(i + 1 === d)));
    memberList(members, 'clv-members', t('ana.clv.decile', { d }),
      [t('ana.customer'), t('ana.clv.p_alive'), t('ana.clv.expected'), t('ana.clv.clv')],
      (x) => [h('th', { scope: 'row' }, nameLink(x)), h('td', {}, percent(x.p_alive, { digits: 1 })),
        h('td', {}, num(x.expected_purchases, 1)), h('td', { class: 'num' }, yuan(x.clv))],
      (page) => api(`/analysis/clv?decile=${d}&page=${page}&per_page=${PER_PAGE}`).then((x) => x.members))(1);
  };
  const decileName = (d) => (d === 1 ? t('ana.clv.d.top') : d === 10 ? t('ana.clv.d.bottom') : `${(d - 1) * 10}–${d * 10}%`);
  for (let d = 1; d <= 10; d += 1) {
    buttons.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', 'data-decile': String(d), onclick: () => pick(d) }, decileName(d)));
  }
  const out = card(t('ana.clv.title'),
    h('p', { class: 'muted' }, t('ana.clv.intro', { n: num(r.customers), model: r.model === 'pareto' ? 'Pareto/NBD' : 'BG/NBD' })),
    h('h3', {}, t('ana.clv.deciles')), chart,
    h('div', { class: 'chips', role: 'group', 'aria-label': t('ana.clv.decile.pick') }, buttons),
    h('p', { class: 'hint' }, t('ana.clv.click')), members,
    h('h3', {}, t('ana.clv.top')),
    table('clv-top', [t('ana.customer'), t('ana.clv.p_alive'), t('ana.clv.expected'), t('ana.clv.clv')], rows));
  // One bar a decile, the top one first; its height is the highest CLV in
  // it (deciles are P0, P10 … P100, lowest first: decile d tops at P(110 - 10d)).
  const p = r.deciles || [];
  const values = p.length === 11 ? [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((i) => p[i]) : [];
  const positive = values.length && values.every((v) => v > 0);
  draw(chart, {
    grid: { left: 56, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => yuan(v) },
    xAxis: { type: 'category', data: values.map((_, i) => decileName(i + 1)), name: t('ana.clv.percentile'), nameLocation: 'middle', nameGap: 26 },
    yAxis: positive ? { type: 'log', min: 1, axisLabel: { formatter: compact } } : { type: 'value', axisLabel: { formatter: compact } },
    series: [{ type: 'bar', name: t('ana.clv.clv'), data: values, itemStyle: { color: RED }, cursor: 'pointer' }],
  }, (e) => { if (e.componentType === 'series') pick(e.dataIndex + 1); });
  return out;
}

// 4. Repeat purchases ---------------------------------------------------------

function repeatSection(r) {
  const chart = chartBox('repeat-chart', t('ana.repeat.chart.alt', { p: percent(r.repeat_rate) }));
  const members = h('div', { 'aria-live': 'polite' });
  const pick = (k) => {
    which.value = String(k);
    memberList(members, 'repeat-members', t('ana.repeat.members', { n: k }),
      [t('ana.customer'), t('ana.repeat.purchases'), t('ana.repeat.cycle')],
      (x) => [h('th', { scope: 'row' }, nameLink(x)), h('td', {}, num(x.purchases)),
        h('td', {}, x.cycle_days === null ? '—' : t('common.days', { n: num(x.cycle_days, 1) }))],
      (page) => api(`/analysis/repeat?purchases=${k}&page=${page}&per_page=${PER_PAGE}`).then((x) => x.members))(1);
  };
  const which = select([['', '—'], ...r.distribution.map((d) => [d.purchases, t('ana.repeat.option', { n: d.purchases, c: num(d.customers) })])], '',
    { 'data-testid': 'repeat-pick', onchange: (e) => { if (e.target.value) pick(Number(e.target.value)); } });
  const out = card(t('ana.repeat.title'),
    h('dl', { class: 'stats' },
      h('div', { class: 'stat' }, h('dt', {}, t('ana.customers')), h('dd', {}, num(r.customers))),
      h('div', { class: 'stat', 'data-testid': 'repeat-rate' }, h('dt', {}, t('ana.repeat.rate')), h('dd', {}, percent(r.repeat_rate))),
      h('div', { class: 'stat' }, h('dt', {}, t('ana.repeat.cycle')), h('dd', {}, r.mean_cycle_days === null ? '—' : t('common.days', { n: num(r.mean_cycle_days, 1) })))),
    chart,
    h('div', { class: 'filters-inline' }, field(t('ana.repeat.pick'), which)),
    h('p', { class: 'hint' }, t('ana.repeat.click')), members);
  draw(chart, {
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: r.distribution.map((d) => String(d.purchases)), name: t('ana.repeat.purchases'), nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ type: 'bar', name: t('ana.repeat.customers'), data: r.distribution.map((d) => d.customers), itemStyle: { color: RED }, cursor: 'pointer' }],
  }, (p) => { if (p.componentType === 'series') pick(r.distribution[p.dataIndex].purchases); });
  return out;
}

// 5. AISAS funnel ----------------------------------------------------------------

function funnelSection() {
  // Empty: numbers that looked like data would be taken for data.
  const inputs = FUNNEL_EXAMPLE.map((v, i) => h('input', {
    type: 'number', min: '0', step: '1', required: true, inputmode: 'numeric', placeholder: t('ana.funnel.example.value', { n: v }), 'data-testid': `funnel-st${i}`,
  }));
  const labels = [t('ana.funnel.st0'), t('ana.funnel.st1'), t('ana.funnel.st2'), t('ana.funnel.st3'), t('ana.funnel.st4'), t('ana.funnel.st5')];
  const out = h('div', { 'aria-live': 'polite' });
  const chart = chartBox('funnel-chart', t('ana.funnel.chart.alt'));
  chart.dataset.state = 'empty';
  chart.append(h('p', { class: 'chart-note muted' }, t('ana.funnel.empty')));
  let drawn = null;
  let seq = 0;
  const run = async () => {
    const counts = inputs.map((x) => x.value.trim()).join(',');
    const mine = ++seq;
    try {
      const r = await api(`/analysis/funnel?counts=${encodeURIComponent(counts)}`);
      if (mine !== seq) return;
      const rows = STAGES.map((k) => {
        const weak = k === r.weakest;
        return h('tr', { class: weak ? 'weakest' : null, 'data-testid': weak ? 'funnel-weakest' : null },
          h('th', { scope: 'row' }, t(`ana.funnel.${k}`), weak ? h('span', { class: 'badge badge-warn' }, t('ana.funnel.weakest')) : null),
          h('td', {}, t(`ana.funnel.${k}.ratio`)),
          h('td', { class: 'num' }, percent(r.rates[k], { already: true })));
      });
      rows.push(h('tr', {}, h('th', { scope: 'row' }, t('ana.funnel.overall')), h('td', {}, t('ana.funnel.overall.ratio')),
        h('td', { class: 'num' }, percent(r.rates.overall, { already: true }))));
      clear(out).append(
        h('p', {}, t('ana.funnel.weakest.text', { stage: t(`ana.funnel.${r.weakest}`), p: percent(r.rates[r.weakest], { already: true }) })),
        table('funnel-rates', [t('ana.funnel.stage'), t('ana.funnel.formula'), t('ana.funnel.rate')], rows));
      const data = r.counts.map((c, i) => ({
        name: labels[i], value: c,
        itemStyle: { color: i > 0 && STAGES[i - 1] === r.weakest ? '#b7791f' : RED, opacity: 1 - i * 0.1 },
      }));
      const option = {
        tooltip: { trigger: 'item', formatter: (p) => `${p.name}: ${num(p.value)}` },
        series: [{
          type: 'funnel', sort: 'none', left: 8, width: '55%', top: 8, bottom: 8, minSize: '8%', gap: 2,
          label: { position: 'right', formatter: (p) => `${p.name} ${num(p.value)}` }, data,
        }],
      };
      if (drawn) drawn.then((c) => c?.setOption(option));
      else drawn = draw(chart, option);
    } catch (e) {
      if (mine === seq) clear(out).append(problem(e));
    }
  };
  const form = h('form', { class: 'form-grid funnel-form', onsubmit: (ev) => { ev.preventDefault(); run(); } },
    inputs.map((x, i) => field(labels[i], x)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('ana.funnel.run')),
      h('button', {
        type: 'button', class: 'btn',
        onclick: () => { inputs.forEach((x, i) => { x.value = String(FUNNEL_EXAMPLE[i]); }); run(); },
      }, t('ana.funnel.example'))));
  return card(t('ana.funnel.title'), h('p', { class: 'muted' }, t('ana.funnel.intro')), form, h('div', { class: 'grid-2' }, out, chart));
}

// 6. Saved analyses as target lists -------------------------------------------------

const SNAP_KINDS = ['rfm', 'abc', 'clv'];

function snapClass(kind, k) {
  if (kind === 'rfm') return label('rfm', k);
  if (kind === 'abc') return t('ana.abc.class', { c: k });
  return t('snap.q', { q: k.replace(/^Q/, '') });
}

/** A snapshot's classes with their member counts, in the summary's order. */
function snapClasses(snap) {
  const classes = snap.summary?.classes || {};
  return Object.entries(classes).map(([k, v]) => [k, typeof v === 'number' ? v : (v?.count ?? v?.customers ?? 0)]);
}

async function exportMembers(app, snap, cls) {
  const rows = [];
  for (let page = 1; ; page += 1) {
    const m = await api(`/analysis/snapshots/${snap.id}/members?page=${page}&per_page=500${cls ? `&class=${encodeURIComponent(cls)}` : ''}`);
    rows.push(...m.items);
    if (page * m.per_page >= m.total) break;
  }
  const head = [t('snap.csv.id'), t('ana.customer'), t('snap.class'), t('cust.owner')];
  const text = [head, ...rows.map((x) => [x.customer_id, x.name, snapClass(snap.kind, x.class || ''), x.owner_id ? app.userName(x.owner_id) : t('common.pool')])]
    .map((r) => r.map(csvCell).join(',')).join('\r\n');
  download(`${snap.name}${cls ? `-${cls}` : ''}.csv`, `${text}\r\n`);
}

function openSnapshot(app, box, snap) {
  const members = h('div', { 'aria-live': 'polite' });
  const buttons = [];
  const pick = (cls, btn) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b === btn));
    memberList(members, 'snap-members', cls ? snapClass(snap.kind, cls) : t('snap.all'),
      [t('ana.customer'), t('snap.class'), t('cust.owner')],
      (x) => [h('th', { scope: 'row' }, nameLink(x)), h('td', {}, snapClass(snap.kind, x.class || '')),
        h('td', {}, x.owner_id ? app.userName(x.owner_id) : t('common.pool'))],
      (page) => api(`/analysis/snapshots/${snap.id}/members?page=${page}&per_page=${PER_PAGE}${cls ? `&class=${encodeURIComponent(cls)}` : ''}`))(1);
    exportBtn.onclick = () => exportMembers(app, snap, cls).catch((e) => members.prepend(alertBox(errorText(e))));
    exportBtn.hidden = false;
  };
  const exportBtn = h('button', { type: 'button', class: 'btn btn-small', hidden: true, 'data-testid': 'snap-export' }, t('snap.export'));
  const classes = snapClasses(snap);
  const allBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', onclick: (ev) => pick(null, ev.currentTarget) }, t('snap.all'), ' ', num(snap.members));
  buttons.push(allBtn);
  const rows = classes.map(([k, n]) => {
    const b = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', disabled: !n, 'data-class': k, onclick: (ev) => pick(k, ev.currentTarget) }, snapClass(snap.kind, k));
    buttons.push(b);
    return h('tr', {}, h('th', { scope: 'row' }, b), h('td', { class: 'num' }, num(n)));
  });
  const hid = id('h');
  clear(box).append(h('section', { 'aria-labelledby': hid, 'data-testid': 'snapshot' },
    h('h3', { id: hid, tabindex: '-1' }, snap.name, ' ', h('span', { class: 'muted' }, t(`snap.kind.${snap.kind}`))),
    h('p', { class: 'muted' }, t('snap.meta', { date: date(snap.as_of || snap.created_at), n: num(snap.members) })),
    table('snap-classes', [t('snap.class'), t('ana.customers')], rows),
    h('div', { class: 'actions' }, allBtn, exportBtn), members));
  box.querySelector('h3')?.focus();
}

async function snapshotsSection(app) {
  const box = h('div', {});
  const listBox = h('div', { 'aria-live': 'polite' });
  const detail = h('div', {});
  const msg = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const r = await api('/analysis/snapshots');
      clear(listBox).append(r.items.length
        ? table('snapshots', [t('snap.name'), t('snap.kind'), t('snap.asof'), t('snap.members'), t('snap.by'), ''], r.items.map((x) => h('tr', {},
          h('th', { scope: 'row' }, x.name), h('td', {}, t(`snap.kind.${x.kind}`)), h('td', {}, x.as_of ? date(x.as_of) : dateTime(x.created_at)),
          h('td', { class: 'num' }, num(x.members)), h('td', {}, x.created_by ? app.userName(x.created_by) : '—'),
          h('td', {}, h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${t('common.open')} ${x.name}`, onclick: () => openSnapshot(app, detail, x) }, t('common.open')),
            (x.created_by === app.user.id || app.isAdmin()) ? h('button', {
              type: 'button', class: 'btn btn-small', 'aria-label': `${t('snap.delete')} ${x.name}`,
              onclick: async () => {
                if (!window.confirm(t('snap.delete.confirm', { name: x.name }))) return;
                try { await api(`/analysis/snapshots/${x.id}`, { method: 'DELETE' }); clear(detail); load(); } catch (e) { msg.append(alertBox(errorText(e))); }
              },
            }, t('snap.delete')) : null)))))
        : h('p', { class: 'muted' }, t('snap.none')));
    } catch (e) { clear(listBox).append(problem(e)); }
  };
  const kind = select(SNAP_KINDS.map((k) => [k, t(`snap.kind.${k}`)]), 'rfm');
  const name = h('input', { required: true, maxlength: 200, value: t('snap.default', { date: today() }), 'data-testid': 'snap-name' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('snap.save'));
  const form = h('form', {
    class: 'form-grid', 'data-testid': 'snap-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      save.disabled = true;
      try {
        const snap = await api('/analysis/snapshots', { method: 'POST', body: { kind: kind.value, name: name.value.trim() } });
        toast(t('snap.saved'));
        await load();
        openSnapshot(app, detail, snap);
      } catch (e) { msg.append(problem(e)); } finally { save.disabled = false; }
    },
  }, field(t('snap.kind'), kind), field(t('snap.name'), name), h('div', { class: 'actions' }, save), msg);
  box.append(card(t('snap.title'), h('p', { class: 'muted' }, t('snap.intro')), form, listBox, detail));
  await load();
  return box;
}

/** Who may update every customer writes the results onto the files (POST /analysis/apply). */
function applySection(app) {
  const msg = h('div', { 'aria-live': 'polite' });
  const btn = h('button', {
    type: 'button', class: 'btn btn-primary', 'data-testid': 'apply-values',
    onclick: async () => {
      btn.disabled = true;
      clear(msg).append(h('p', { class: 'muted' }, t('ana.apply.running')));
      try {
        const r = await api('/analysis/apply', { method: 'POST' });
        clear(msg).append(alertBox(t('ana.apply.done', { n: num(r.updated), year: r.tier_year, tiered: num(r.tiered) }), 'ok'));
        toast(t('common.saved'));
      } catch (e) {
        clear(msg).append(problem(e));
      } finally {
        btn.disabled = false;
      }
    },
  }, t('ana.apply.go'));
  return card(t('ana.apply.title'), h('p', { class: 'muted' }, t('ana.apply.intro')), h('div', { class: 'actions' }, btn), msg);
}

export async function analysis(app) {
  const [rfm, abc, clv, rep] = await Promise.allSettled([
    api('/analysis/rfm'), api('/analysis/abc'), api(`/analysis/clv?per_page=10`), api('/analysis/repeat'),
  ]);
  const page = h('div', { class: 'page analysis' }, h('h1', {}, t('ana.title')));
  const noOrders = [rfm, abc, clv, rep].every((x) => x.status === 'rejected' && x.reason?.code === 'no_orders');
  if (noOrders) {
    page.append(alertBox(t('ana.no_orders'), 'info'));
  } else {
    const part = (res, build, title) => (res.status === 'fulfilled' ? build(res.value) : card(title, problem(res.reason)));
    page.append(
      part(rfm, rfmSection, t('ana.rfm.title')),
      part(abc, abcSection, t('ana.abc.title')),
      h('div', { class: 'grid-2 grid-even' }, part(clv, clvSection, t('ana.clv.title')), part(rep, repeatSection, t('ana.repeat.title'))));
  }
  if (['admin', 'director'].includes(app.user.role) && !noOrders) page.append(applySection(app));
  page.append(await snapshotsSection(app), funnelSection());
  return page;
}
