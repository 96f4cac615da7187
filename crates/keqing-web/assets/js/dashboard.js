// 经营看板: the company's numbers, where directors and administrators land
// (SPEC §6, §9; issue 26) — completion against the calendar for the company,
// by team and by region (bars), the 12-month trend, the leaderboard, and the
// receivables. Finance reads it too. A supervisor sees the same for their
// team, with the team's people and a link to the checklist to score.
import { api } from './api.js';
import { t } from './i18n.js';
import { h, card, alertBox, errorText, field, select } from './ui.js';
import { money, num, today } from './format.js';
import { draw } from './chart.js';
import {
  METRICS, RED, GREEN, GREY, BLUE, figure, plotted, ratio, pointsBadge, kpiStats, periodOf, chartBox,
} from './performance.js';

const PERIODS = ['month', 'quarter', 'year'];

function query(params) {
  return Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/** An answer or the error it failed with (each section shows its own). */
const settle = (p) => p.catch((e) => e);

/**
 * Completion by subject as bars, coloured by whether each is ahead of the
 * calendar (green) or behind (red), with the time progress as a line across.
 */
function completionBars(el, items, timeProgress) {
  const rows = items.slice(0, 30);
  const tp = timeProgress === null || timeProgress === undefined ? null : Number(timeProgress) * 100;
  return draw(el, {
    grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', confine: true, valueFormatter: (v) => (v === null ? '—' : `${num(v, 1)}%`) },
    xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { interval: 0, rotate: rows.length > 6 ? 30 : 0 } },
    // Up to the time progress at least, so its line always shows.
    yAxis: { type: 'value', min: 0, max: (v) => Math.ceil(Math.max(v.max, tp ?? 0, 10) / 10) * 10, axisLabel: { formatter: '{value}%' } },
    series: [{
      type: 'bar', name: t('perf.completion'), barMaxWidth: 36,
      data: rows.map((r) => ({
        value: r.completion === null || r.completion === undefined ? null : Math.round(Number(r.completion) * 1000) / 10,
        itemStyle: { color: tp !== null && Number(r.completion) * 100 < tp ? RED : GREEN },
      })),
      markLine: tp === null ? undefined : {
        symbol: 'none', silent: true, lineStyle: { color: GREY, type: 'dashed' },
        label: { formatter: t('dash.time_line', { p: num(tp, 1) }), position: 'insideEndTop' },
        data: [{ yAxis: Math.round(tp * 10) / 10 }],
      },
    }],
  });
}

/**
 * The board as a table: rank, name, plan, actual, completion, points ahead;
 * people's names open their 我的业绩 (`people`).
 */
function boardTable(metric, items, testid, meId, people = false) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': testid },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'num' }, t('dash.rank')),
      h('th', { scope: 'col' }, t('dash.name')),
      h('th', { scope: 'col', class: 'num' }, t('perf.plan')),
      h('th', { scope: 'col', class: 'num' }, t('perf.actual')),
      h('th', { scope: 'col', class: 'num' }, t('perf.completion')),
      h('th', { scope: 'col' }, t('perf.points')))),
    h('tbody', {}, items.map((r) => h('tr', { class: meId !== undefined && r.subject_id === meId ? 'me' : null },
      h('td', { class: 'num' }, r.rank ?? '—'),
      h('th', { scope: 'row' }, people ? h('a', { href: `#/performance?user_id=${r.subject_id}` }, r.name) : r.name),
      h('td', { class: 'num' }, figure(metric, r.plan)),
      h('td', { class: 'num' }, figure(metric, r.actual)),
      h('td', { class: 'num' }, ratio(r.completion)),
      h('td', {}, pointsBadge(r.points_ahead)))))));
}

/** Top 10 of the board, and the caller's own row below when it is further down. */
function leaders(items, meId) {
  const top = items.slice(0, 10);
  const me = items.find((r) => r.subject_id === meId);
  if (me && !top.includes(me)) top.push(me);
  return top;
}

/** A board section: bars of completion, the table under them. */
function boardCard(title, testid, metric, board, timeProgress) {
  if (board instanceof Error) return card(title, alertBox(errorText(board)));
  if (!board.items.length) return card(title, h('p', { class: 'muted' }, t('common.empty')));
  const chart = chartBox(`${testid}-chart`, t('dash.bars.alt', { what: title }), 'chart');
  completionBars(chart, board.items, timeProgress);
  return card(title, chart, boardTable(metric, board.items, testid));
}

/** The year's months: actual bars against the plan line (GET /performance/series). */
function trendCard(metric, series, year) {
  const title = t('dash.trend', { y: year });
  if (series instanceof Error) return card(title, alertBox(errorText(series)));
  const chart = chartBox('trend-chart', t('dash.trend.alt'));
  const items = series.items;
  const fmt = (v) => (v === null || v === undefined ? '—' : figure(metric, metric === 'sales_amount' || metric === 'receivables' ? Number(v).toFixed(2) : v));
  draw(chart, {
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, data: [t('perf.actual'), t('perf.plan')] },
    tooltip: { trigger: 'axis', confine: true, valueFormatter: fmt },
    xAxis: { type: 'category', data: items.map((m) => `${Number(m.month.slice(5))}${t('perf.chart.month')}`) },
    yAxis: { type: 'value', min: 0 },
    series: [
      { type: 'bar', name: t('perf.actual'), data: items.map((m) => plotted(m.actual)), itemStyle: { color: RED }, barMaxWidth: 28 },
      { type: 'line', name: t('perf.plan'), data: items.map((m) => plotted(m.plan)), lineStyle: { color: BLUE }, itemStyle: { color: BLUE } },
    ],
  });
  return card(title, chart,
    h('details', {}, h('summary', {}, t('dash.trend.table')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'trend-table' },
        h('thead', {}, h('tr', {}, [t('dash.month'), t('perf.plan'), t('perf.actual'), t('perf.completion')].map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
        h('tbody', {}, items.map((m) => h('tr', {},
          h('th', { scope: 'row' }, m.month),
          h('td', { class: 'num' }, figure(metric, m.plan)),
          h('td', { class: 'num' }, figure(metric, m.actual)),
          h('td', { class: 'num' }, ratio(m.completion)))))))));
}

/** 应收账款 (helper A's GET /receivables?level=company): outstanding, overdue, ageing. */
function receivablesCard(r) {
  const title = t('dash.receivables');
  if (r instanceof Error) {
    if (r.status === 404 || r.status === 403) return card(title, h('p', { class: 'muted', 'data-testid': 'receivables-none' }, t('dash.receivables.none')));
    return card(title, alertBox(errorText(r)));
  }
  const buckets = r.buckets || [];
  const chart = chartBox('receivables-chart', t('dash.receivables.alt'), 'chart');
  if (buckets.length) {
    draw(chart, {
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', confine: true, valueFormatter: (v) => money(Number(v).toFixed(2)) },
      xAxis: { type: 'category', data: buckets.map((b) => b.label) },
      yAxis: { type: 'value', min: 0 },
      series: [{ type: 'bar', data: buckets.map((b) => plotted(b.amount)), itemStyle: { color: RED }, barMaxWidth: 36 }],
    });
  }
  const customers = (r.customers || []).slice(0, 10);
  return card(title,
    h('dl', { class: 'stats', 'data-testid': 'receivables' },
      h('div', { class: 'stat' }, h('dt', {}, t('dash.receivables.outstanding')), h('dd', {}, money(r.outstanding))),
      h('div', { class: 'stat' }, h('dt', {}, t('dash.receivables.overdue')), h('dd', {}, money(r.overdue)))),
    buckets.length ? chart : null,
    customers.length ? h('ul', { class: 'list' }, customers.map((c) => h('li', { class: 'row' },
      c.customer_id ? h('a', { href: `#/customers/${c.customer_id}` }, c.name || `#${c.customer_id}`) : h('span', {}, c.name || '—'),
      h('span', { class: 'num' }, money(c.outstanding ?? c.amount))))) : null);
}

export async function dashboard(app, { params }) {
  const role = app.user.role;
  const supervisor = role === 'supervisor';
  const metric = METRICS.includes(params.get('metric')) ? params.get('metric') : 'sales_amount';
  const period = PERIODS.includes(params.get('period')) ? params.get('period') : 'month';
  const day = today();
  const year = day.slice(0, 4);
  const { from, to } = periodOf(period, day);
  const go = (next) => app.go(`#/dashboard?${query({ metric, period, ...next })}`);
  // A supervisor's whole is their team; everyone else's here is the company.
  const whole = supervisor && app.user.team_id ? { level: 'team', subject_id: app.user.team_id } : { level: 'company' };

  const picks = h('div', { class: 'filters filters-inline' },
    field(t('perf.metric'), select(METRICS.map((m) => [m, t(`perf.metric.${m}`)]), metric,
      { 'data-testid': 'dash-metric', onchange: (ev) => go({ metric: ev.target.value }) })),
    field(t('dash.period'), select(PERIODS.map((p) => [p, t(`dash.period.${p}`)]), period,
      { 'data-testid': 'dash-period', onchange: (ev) => go({ period: ev.target.value }) })));

  const span = { metric, from, to };
  const [kpi, teams, regions, people, series, receivables] = await Promise.all([
    settle(api(`/performance?${query({ ...whole, ...span })}`)),
    supervisor ? null : settle(api(`/performance/board?${query({ level: 'team', ...span })}`)),
    supervisor ? null : settle(api(`/performance/board?${query({ level: 'region', ...span })}`)),
    settle(api(`/performance/board?${query({ level: 'user', ...span })}`)),
    settle(api(`/performance/series?${query({ ...whole, metric, year })}`)),
    supervisor ? null : settle(api('/receivables?level=company')),
  ]);
  const tp = kpi instanceof Error ? null : kpi.time_progress;
  const wholeTitle = supervisor
    ? t('dash.team', { name: app.teams.find((x) => x.id === app.user.team_id)?.name || '' })
    : t('dash.company');
  const kpiCard = card(wholeTitle, kpi instanceof Error ? alertBox(errorText(kpi)) : kpiStats(kpi, 'dash-kpi'),
    supervisor ? h('p', {}, h('a', { href: '#/team-pay', 'data-testid': 'team-pay-link' }, t('dash.team_pay'))) : null);

  let peopleCard;
  if (people instanceof Error) peopleCard = card(t('dash.board'), alertBox(errorText(people)));
  else if (!people.items.length) peopleCard = card(t('dash.board'), h('p', { class: 'muted' }, t('common.empty')));
  else {
    const rows = supervisor ? people.items : leaders(people.items, app.user.id);
    peopleCard = card(supervisor ? t('dash.board.team') : t('dash.board'),
      boardTable(metric, rows, 'leaderboard', app.user.id, true),
      h('p', { class: 'hint' }, h('a', { href: '#/performance' }, t('dash.board.mine'))));
  }
  return h('div', { class: 'page dash' },
    h('div', { class: 'page-head' }, h('h1', {}, t('dash.title')),
      h('span', { class: 'muted' }, t('dash.span', { from, to }))),
    picks,
    kpiCard,
    h('div', { class: 'dash-grid' },
      teams ? boardCard(t('dash.by_team'), 'by-team', metric, teams, tp) : null,
      regions ? boardCard(t('dash.by_region'), 'by-region', metric, regions, tp) : null,
      trendCard(metric, series, year),
      peopleCard,
      receivables ? receivablesCard(receivables) : null));
}
