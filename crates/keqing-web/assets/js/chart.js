// Charts with Apache ECharts, loaded only when a page draws one (it is the
// largest file the workbench has). Shipped in assets/vendor with its licence.
import { fen } from './format.js';
import { t } from './i18n.js';

let loading;
/** Apache ECharts, fetched from this server the first time a chart is drawn. */
export function echarts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/assets/vendor/echarts.min.js';
      s.onload = () => resolve(window.echarts);
      s.onerror = () => reject(new Error('echarts'));
      document.head.append(s);
    });
  }
  return loading;
}

/**
 * Purchases per calendar month, in the browser's time zone, over the `months`
 * months up to and including the month of `now`, oldest first:
 * [{month: '2026-11', fen: 123450n, count: 2}]. Amounts are added in fen.
 */
export function monthlyPurchases(orders, months = 24, now = new Date()) {
  const key = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  const out = [];
  for (let i = months - 1; i >= 0; i -= 1) {
    out.push({ month: key(new Date(now.getFullYear(), now.getMonth() - i, 1)), fen: 0n, count: 0 });
  }
  const at = new Map(out.map((m, i) => [m.month, i]));
  for (const o of orders) {
    const d = new Date(o.ordered_at);
    if (Number.isNaN(d.getTime())) continue;
    const i = at.get(key(d));
    if (i === undefined) continue;
    out[i].fen += fen(o.amount) ?? 0n;
    out[i].count += 1;
  }
  return out;
}

/**
 * A sparkline of purchases: one point a month (`series` from
 * monthlyPurchases), no axes, the month and amount on hover. The figures
 * stay exact in the text beside it; yuan as floats only for drawing.
 */
export function sparkline(el, series, { name, month, amount }) {
  const values = series.map((m) => Number(m.fen) / 100);
  return draw(el, {
    grid: { left: 2, right: 2, top: 4, bottom: 2 },
    tooltip: {
      trigger: 'axis', confine: true,
      formatter: (ps) => {
        const m = series[ps[0].dataIndex];
        return `${month(m.month)}<br>${amount(m)}`;
      },
    },
    xAxis: { type: 'category', show: false, boundaryGap: false, data: series.map((m) => m.month) },
    yAxis: { type: 'value', show: false, min: 0 },
    series: [{
      type: 'line', name, data: values, smooth: false, symbol: 'circle', symbolSize: 3, showSymbol: false,
      lineStyle: { color: '#b5483b', width: 1.5 }, areaStyle: { color: 'rgba(181,72,59,.15)' },
    }],
  });
}

/**
 * Resolves to true once `el` is on the page (pages are built before they are
 * put on screen, sometimes after more requests), false when it never comes
 * within `patience` ms (the user went elsewhere first).
 */
function onPage(el, patience = 300000) {
  if (el.isConnected) return Promise.resolve(true);
  return new Promise((ok) => {
    const seen = new MutationObserver(() => {
      if (el.isConnected) { done(true); }
    });
    const timer = setTimeout(() => done(false), patience);
    const done = (v) => { seen.disconnect(); clearTimeout(timer); ok(v); };
    seen.observe(document, { childList: true, subtree: true });
  });
}

/**
 * Draws `option` into `el` once ECharts has loaded and `el` is on the page;
 * `onClick(params)` for clicks on the data. Meanwhile the box says it is
 * loading (`data-state="loading"`), then `drawn`, or `failed` with a reason:
 * never an empty box that could be mistaken for a chart without data.
 */
export function draw(el, option, onClick) {
  el.dataset.state = 'loading';
  el.setAttribute('aria-busy', 'true');
  el.replaceChildren(Object.assign(document.createElement('p'), { className: 'chart-note muted', textContent: t('chart.loading') }));
  return Promise.all([echarts(), onPage(el)]).then(([ec, shown]) => {
    if (!shown) return null;
    el.replaceChildren();
    const chart = ec.init(el, null, { renderer: 'svg' });
    chart.setOption({ animation: false, ...option });
    if (onClick) chart.on('click', onClick);
    new ResizeObserver(() => chart.resize()).observe(el);
    el.dataset.state = 'drawn';
    el.removeAttribute('aria-busy');
    return chart;
  }).catch(() => {
    el.dataset.state = 'failed';
    el.removeAttribute('aria-busy');
    el.replaceChildren(Object.assign(document.createElement('p'), { className: 'chart-note muted', textContent: t('chart.failed') }));
    return null;
  });
}
