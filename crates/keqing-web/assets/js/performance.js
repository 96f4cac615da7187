// 我的业绩: a person's targets and how far along they are (SPEC §6, issue 26) —
// this month's and this year's plan, actual, completion against the time
// progress (elapsed working days of the Chinese calendar), points ahead or
// behind, the run-rate forecast; the year's cumulative actual against the
// plan and the calendar (a chart); the targets' revisions; and this month's
// pay slip with its formula. Managers see themselves; those whose scope is
// wider (supervisors, directors, finance, administrators) pick a person.
import { api } from './api.js';
import { t, has } from './i18n.js';
import { h, card, alertBox, errorText, field, select } from './ui.js';
import { date, dateTime, money, num, percent, today } from './format.js';
import { draw } from './chart.js';
import { inputsView } from './pay.js';

export const METRICS = ['sales_amount', 'quantity', 'receivables', 'new_customers', 'visits'];
const MONEY = new Set(['sales_amount', 'receivables']);
export const RED = '#b5483b';
export const GREEN = '#2e7d4f';
export const GREY = '#8a8f98';
export const BLUE = '#3d6ea8';

/** Whether a metric is counted in money (yuan strings) rather than a count. */
export function isMoney(metric) { return MONEY.has(metric); }

/** A metric's figure as the API gives it (yuan string or integer string) → text. */
export function figure(metric, v) {
  if (v === null || v === undefined || v === '') return '—';
  return isMoney(metric) ? money(v) : num(v);
}

/** A figure as a number for drawing only (the text keeps it exact). */
export function plotted(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A ratio 1.02 → "102.0%"; null → "—". */
export function ratio(x) { return percent(x, { digits: 1 }); }

/**
 * Points ahead of the calendar (completion − time progress) as a badge:
 * green "领先 8.0 个百分点" when ahead or level, red "落后 …" when behind.
 */
export function pointsBadge(points) {
  if (points === null || points === undefined) return h('span', { class: 'muted' }, '—');
  // In tenths of a point, as shown: −0.0 is level, not behind.
  const p = Math.round(Number(points) * 1000) / 10;
  const ahead = p >= 0;
  return h('span', {
    class: `badge ${ahead ? 'badge-ahead' : 'badge-behind'}`,
    'data-testid': 'points-ahead', 'data-ahead': String(ahead), 'data-value': String(points),
  }, t(ahead ? 'perf.ahead' : 'perf.behind', { p: num(Math.abs(p), 1) }));
}

/** The KPI figures of one period as a row of stats (GET /performance's answer). */
export function kpiStats(k, testid) {
  const stat = (key, value, extra = {}) => h('div', { class: 'stat', ...extra }, h('dt', {}, t(key)), h('dd', {}, value));
  return h('dl', { class: 'stats', 'data-testid': testid },
    stat('perf.plan', figure(k.metric, k.plan), { 'data-testid': `${testid}-plan`, 'data-value': k.plan ?? '' }),
    stat('perf.actual', figure(k.metric, k.actual), { 'data-testid': `${testid}-actual`, 'data-value': k.actual ?? '' }),
    stat('perf.completion', ratio(k.completion), { 'data-testid': `${testid}-completion` }),
    stat('perf.time_progress', ratio(k.time_progress), { title: t('perf.time_progress.hint', { e: k.elapsed_working_days, n: k.working_days }) }),
    stat('perf.points', pointsBadge(k.points_ahead)),
    stat('perf.forecast', figure(k.metric, k.forecast), { title: t('perf.forecast.hint') }),
    // Asked for with average_price=true (sales and quantity): 003's 10655
    // a case against the plan's 10749.
    k.average_price?.actual != null ? stat('perf.avg_price', money(k.average_price.actual), {
      'data-testid': `${testid}-avg-price`,
      title: k.average_price.plan != null ? t('perf.avg_price.hint', { plan: money(k.average_price.plan), gap: money(k.average_price.gap) }) : null,
    }) : null,
    k.average_price?.gap != null ? stat('perf.avg_price.gap', money(k.average_price.gap)) : null);
}

/** First and last day of the month of `day` (YYYY-MM-DD). */
export function monthOf(day) {
  const [y, m] = day.split('-').map(Number);
  const last = new Date(y, m, 0).getDate();
  const p = (n) => String(n).padStart(2, '0');
  return { from: `${y}-${p(m)}-01`, to: `${y}-${p(m)}-${p(last)}` };
}

/** The period of `kind` (month, quarter, year) holding `day`: {from, to}. */
export function periodOf(kind, day) {
  const [y, m] = day.split('-').map(Number);
  const p = (n) => String(n).padStart(2, '0');
  if (kind === 'year') return { from: `${y}-01-01`, to: `${y}-12-31` };
  if (kind === 'quarter') {
    const first = Math.floor((m - 1) / 3) * 3 + 1;
    const last = first + 2;
    return { from: `${y}-${p(first)}-01`, to: `${y}-${p(last)}-${p(new Date(y, last, 0).getDate())}` };
  }
  return monthOf(day);
}

/** A chart box with a text alternative (the figures are in the stats and tables beside it). */
export function chartBox(testid, alt, cls = 'chart chart-tall') {
  return h('div', { class: cls, role: 'img', 'aria-label': alt, 'data-testid': testid });
}

/** A figure for the query string: level, subject and metric. */
function query(params) {
  return Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/**
 * The year's cumulative actual against the cumulative plan, and where the
 * calendar says one should be (the year's plan × elapsed working days ÷ the
 * year's working days), month by month. `series` is GET /performance/series.
 */
export function drawProgress(el, metric, items) {
  let plan = 0;
  let actual = 0;
  let elapsed = 0;
  const wdYear = items.reduce((s, m) => s + (m.working_days || 0), 0);
  const yearPlan = items.reduce((s, m) => s + (plotted(m.plan) || 0), 0);
  const month = today().slice(0, 7);
  const rows = items.map((m) => {
    plan += plotted(m.plan) || 0;
    elapsed += m.elapsed_working_days || 0;
    const started = m.month <= month;
    if (started) actual += plotted(m.actual) || 0;
    return {
      month: m.month,
      plan: Math.round(plan * 100) / 100,
      actual: started ? Math.round(actual * 100) / 100 : null,
      calendar: wdYear ? Math.round(((yearPlan * elapsed) / wdYear) * 100) / 100 : null,
    };
  });
  const fmt = (v) => (v === null || v === undefined ? '—' : isMoney(metric) ? money(Number(v).toFixed(2)) : num(v));
  return draw(el, {
    grid: { left: 64, right: 16, top: 36, bottom: 32, containLabel: false },
    legend: { top: 0, data: [t('perf.chart.actual'), t('perf.chart.plan'), t('perf.chart.calendar')] },
    tooltip: { trigger: 'axis', confine: true, valueFormatter: fmt },
    xAxis: { type: 'category', data: rows.map((r) => `${Number(r.month.slice(5))}${t('perf.chart.month')}`) },
    yAxis: { type: 'value', min: 0, axisLabel: { formatter: (v) => (isMoney(metric) ? `${num(v / 10000, 1)}${t('perf.wan')}` : num(v)) } },
    series: [
      { type: 'line', name: t('perf.chart.actual'), data: rows.map((r) => r.actual), lineStyle: { color: RED, width: 2.5 }, itemStyle: { color: RED }, symbolSize: 5 },
      { type: 'line', name: t('perf.chart.plan'), data: rows.map((r) => r.plan), lineStyle: { color: BLUE, type: 'dashed' }, itemStyle: { color: BLUE }, showSymbol: false },
      { type: 'line', name: t('perf.chart.calendar'), data: rows.map((r) => r.calendar), lineStyle: { color: GREY, type: 'dotted' }, itemStyle: { color: GREY }, showSymbol: false },
    ],
  });
}

/** The targets of the subject in the year with their revisions (GET /targets). */
function targetsCard(metric, targets) {
  if (!targets.length) return card(t('perf.targets'), h('p', { class: 'muted', 'data-testid': 'no-target' }, t('perf.targets.none')));
  return card(t('perf.targets'), ...targets.map((x) => {
    const months = x.months || [];
    const revisions = x.revisions || [];
    return h('div', { 'data-testid': 'target', 'data-target-id': String(x.id) },
      h('p', {},
        h('strong', {}, t('perf.targets.year', { y: x.year })), ' ',
        h('span', { 'data-testid': 'target-amount' }, figure(metric, x.amount)),
        x.version > 1 ? h('span', { class: 'badge' }, t('perf.targets.version', { v: x.version })) : null,
        x.set_on_its_own === false ? h('span', { class: 'badge' }, t('perf.targets.sum')) : null),
      months.length === 12 ? h('div', { class: 'table-wrap' }, h('table', { class: 'table perf-months' },
        h('caption', { class: 'sr-only' }, t('perf.targets.months')),
        h('thead', {}, h('tr', {}, months.map((_, i) => h('th', { scope: 'col', class: 'num' }, `${i + 1}${t('perf.chart.month')}`)))),
        h('tbody', {}, h('tr', {}, months.map((v) => h('td', { class: 'num' }, figure(metric, v))))))) : null,
      revisions.length ? h('div', {},
        h('h3', {}, t('perf.revisions')),
        h('ul', { class: 'list', 'data-testid': 'revisions' }, revisions.map((r) => h('li', { 'data-testid': 'revision' },
          h('strong', {}, figure(metric, r.amount)), ' ',
          t('perf.revisions.from', { d: date(r.effective_from) }), ' · ',
          r.reason || '—',
          h('div', { class: 'muted' }, [r.by_name, r.at ? dateTime(r.at) : null].filter(Boolean).join(' · ')))))) : null);
  }));
}

/** This month's pay slip (GET /pay/slip), or 尚未核算 when there is none yet. */
async function slipCard(subject, mine) {
  const ym = today().slice(0, 7);
  const title = t('perf.slip', { m: `${Number(ym.slice(5))}` });
  try {
    const s = await api(`/pay/slip?${query({ month: ym, user_id: mine ? null : subject })}`);
    const inputs = Object.keys(s.formula?.inputs || {});
    return card(title,
      h('dl', { class: 'stats', 'data-testid': 'pay-slip' },
        h('div', { class: 'stat' }, h('dt', {}, t('perf.slip.base')), h('dd', {}, money(s.base))),
        h('div', { class: 'stat' }, h('dt', {}, t('perf.slip.hard')), h('dd', {}, money(s.hard))),
        h('div', { class: 'stat' }, h('dt', {}, t('perf.slip.soft')), h('dd', {}, money(s.soft))),
        h('div', { class: 'stat' }, h('dt', {}, t('perf.slip.total')), h('dd', { 'data-testid': 'slip-total' }, money(s.total)))),
      s.status ? h('p', { class: 'muted', 'data-testid': 'slip-status' }, t('perf.slip.status', { s: has(`perf.slip.status.${s.status}`) ? t(`perf.slip.status.${s.status}`) : s.status })) : null,
      s.formula?.text ? h('p', { 'data-testid': 'slip-formula' }, h('code', {}, s.formula.text)) : null,
      inputs.length ? h('details', { class: 'perf-inputs' }, h('summary', {}, t('payroll.inputs')), ...inputsView(s.formula.inputs)) : null);
  } catch (e) {
    if (e.status === 404) return card(title, h('p', { class: 'muted', 'data-testid': 'no-slip' }, t('perf.slip.none')));
    if (e.status === 403) return null;
    return card(title, alertBox(errorText(e)));
  }
}

/** The people the caller may pick: themselves and those the API lists for them. */
function subjects(app) {
  const people = [...app.users.values()].filter((u) => ['manager', 'supervisor'].includes(u.role) || u.id === app.user.id);
  people.sort((a, b) => (a.team_id ?? 0) - (b.team_id ?? 0) || a.display_name.localeCompare(b.display_name, 'zh-CN'));
  return people;
}

export async function performance(app, { params }) {
  const wide = ['supervisor', 'director', 'admin', 'finance'].includes(app.user.role);
  const subject = wide && params.get('user_id') ? Number(params.get('user_id')) : app.user.id;
  const mine = subject === app.user.id;
  const metric = METRICS.includes(params.get('metric')) ? params.get('metric') : 'sales_amount';
  const day = today();
  const year = day.slice(0, 4);
  const go = (next) => app.go(`#/performance?${query({ user_id: next.user_id ?? (mine ? null : subject), metric: next.metric ?? metric })}`);

  const picks = h('div', { class: 'filters filters-inline' },
    wide ? field(t('perf.subject'), select(subjects(app).map((u) => [u.id, u.display_name]), subject,
      { 'data-testid': 'perf-subject', onchange: (ev) => go({ user_id: ev.target.value }) })) : null,
    field(t('perf.metric'), select(METRICS.map((m) => [m, t(`perf.metric.${m}`)]), metric,
      { 'data-testid': 'perf-metric', onchange: (ev) => go({ metric: ev.target.value }) })));

  const priced = metric === 'sales_amount' || metric === 'quantity';
  const who = { level: 'user', subject_id: subject, metric, average_price: priced ? 'true' : null };
  const y = { from: `${year}-01-01`, to: `${year}-12-31` };
  const [month, whole, series, targets, slip] = await Promise.all([
    api(`/performance?${query(who)}`).catch((e) => e),
    api(`/performance?${query({ ...who, ...y })}`).catch((e) => e),
    api(`/performance/series?${query({ ...who, average_price: null, year })}`).catch((e) => e),
    api(`/targets?${query({ year, level: 'user', subject_id: subject, metric })}`).catch((e) => e),
    slipCard(subject, mine),
  ]);
  const kpiCard = (title, k, testid) => card(title, k instanceof Error ? alertBox(errorText(k)) : kpiStats(k, testid));
  const chart = chartBox('perf-chart', t('perf.chart.alt'));
  const chartCard = card(t('perf.chart.title', { y: year }),
    series instanceof Error ? alertBox(errorText(series)) : chart,
    h('p', { class: 'hint' }, t('perf.chart.hint')));
  if (!(series instanceof Error)) {
    if (series.items.some((m) => plotted(m.plan) || plotted(m.actual))) drawProgress(chart, metric, series.items);
    else {
      chart.dataset.state = 'empty';
      chart.append(h('p', { class: 'chart-note muted' }, t('perf.chart.empty')));
    }
  }
  const name = app.userName(subject);
  return h('div', { class: 'page perf' },
    h('div', { class: 'page-head' },
      h('h1', {}, mine ? t('perf.title') : t('perf.title.of', { name })),
      wide ? h('a', { href: '#/dashboard' }, t('nav.dashboard')) : null),
    picks,
    h('div', { class: 'grid-even grid-2' },
      kpiCard(t('perf.month', { m: Number(day.slice(5, 7)) }), month, 'kpi-month'),
      kpiCard(t('perf.year', { y: year }), whole, 'kpi-year')),
    chartCard,
    h('div', { class: 'grid-even grid-2' },
      targets instanceof Error ? card(t('perf.targets'), alertBox(errorText(targets))) : targetsCard(metric, targets.items),
      slip));
}
