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
 * Draws `option` into `el` once ECharts has loaded (nothing when the element
 * has left the page meanwhile); `onClick(params)` for clicks on the data.
 */
export function draw(el, option, onClick) {
  // A page is put on screen after it is built: wait a turn before looking.
  return echarts().then((ec) => new Promise((ok) => { setTimeout(() => ok(ec), 0); })).then((ec) => {
    if (!el.isConnected) return null;
    const chart = ec.init(el, null, { renderer: 'svg' });
    chart.setOption({ animation: false, ...option });
    if (onClick) chart.on('click', onClick);
    new ResizeObserver(() => chart.resize()).observe(el);
    return chart;
  }).catch(() => { el.textContent = ''; return null; });
}
