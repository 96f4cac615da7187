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

/** Order amount per month over the last twelve months, in yuan. */
export function valueChart(el, orders) {
  const now = new Date();
  const months = [];
  for (let i = 11; i >= 0; i -= 1) {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    months.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`);
  }
  const sums = new Map(months.map((m) => [m, 0n]));
  for (const o of orders) {
    const m = String(o.ordered_at).slice(0, 7);
    if (sums.has(m)) sums.set(m, sums.get(m) + (fen(o.amount) ?? 0n));
  }
  // Whole fen to yuan for drawing only; the figures shown as text stay exact.
  const values = months.map((m) => Number(sums.get(m)) / 100);
  echarts().then((ec) => {
    if (!el.isConnected) return;
    const chart = ec.init(el, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 8, top: 8, bottom: 24 },
      tooltip: { trigger: 'axis', valueFormatter: (v) => `¥${v.toLocaleString('zh-CN', { minimumFractionDigits: 2 })}` },
      xAxis: { type: 'category', data: months.map((m) => m.slice(5)) },
      yAxis: { type: 'value' },
      series: [{ type: 'bar', name: t('c.value.total'), data: values, itemStyle: { color: '#b5483b' } }],
    });
    new ResizeObserver(() => chart.resize()).observe(el);
  }).catch(() => { el.textContent = ''; });
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
