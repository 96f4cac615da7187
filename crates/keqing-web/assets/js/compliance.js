// 关怀达标: each manager's fulfilment over a period (SPEC §4) — care tasks
// done of those due, contacts made against the cadence standard of their
// customers' class, the daily activity quota — and the customers behind.
import { api, customerNames } from './api.js';
import { t } from './i18n.js';
import { h, clear, card, alertBox, errorText, field } from './ui.js';
import { date, dateTime, today } from './format.js';
import { cadenceLine } from './care.js';

function pct(s) {
  if (!s || s.share === null || s.share === undefined) return '—';
  return `${Math.round(s.share * 1000) / 10}%（${s.made}/${s.due ?? s.required}）`;
}

export async function compliance(app, { params }) {
  if (!app.care) return h('div', { class: 'page' }, h('h1', {}, t('comp.title')), alertBox(t('comp.unavailable'), 'info'));
  const to = params.get('to') || today();
  const from = params.get('from') || `${to.slice(0, 8)}01`;
  const out = h('div', { 'aria-live': 'polite' });
  const fromIn = h('input', { type: 'date', value: from, required: true });
  const toIn = h('input', { type: 'date', value: to, required: true });
  const form = h('form', {
    class: 'filters filters-compact',
    onsubmit: (ev) => { ev.preventDefault(); app.go(`#/compliance?from=${fromIn.value}&to=${toIn.value}`); },
  }, field(t('comp.from'), fromIn), field(t('comp.to'), toIn), h('button', { type: 'submit', class: 'btn btn-primary' }, t('comp.show')));
  try {
    const r = await api(`/care/compliance?from=${from}&to=${to}`);
    const behindIds = r.managers.flatMap((m) => [...m.cadence.customers_behind, ...(m.gift_breaches || []).map((g) => g.customer_id)]);
    const names = await customerNames(behindIds).catch(() => new Map());
    const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'compliance' },
      h('thead', {}, h('tr', {}, ['comp.manager', 'comp.tasks', 'comp.cadence', 'comp.quota', 'comp.behind'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.managers.map((m) => h('tr', {},
        h('th', { scope: 'row' }, m.name),
        h('td', {}, pct(m.tasks)),
        h('td', {}, pct(m.cadence)),
        h('td', {}, pct(m.quota)),
        h('td', {}, m.cadence.customers_behind.length
          ? h('details', {}, h('summary', {}, String(m.cadence.customers_behind.length)),
            h('ul', { 'data-testid': 'behind' }, m.cadence.customers_behind.map((cid) => h('li', {},
              h('a', { href: `#/customers/${cid}` }, names.get(cid) || `#${cid}`),
              h('div', { class: 'muted' }, (m.cadence.lines_behind || []).filter((l) => l.customer_id === cid).map(cadenceLine).join('；'))))))
          : '0'))))));
    const teams = h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['comp.team', 'comp.tasks', 'comp.cadence', 'comp.quota', 'comp.behind'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.teams.map((tm) => h('tr', {},
        h('th', { scope: 'row' }, tm.name || '—'), h('td', {}, pct(tm.tasks)), h('td', {}, pct(tm.cadence)),
        h('td', {}, pct(tm.quota)), h('td', {}, String(tm.cadence.customers_behind.length)))))));
    const gifts = r.managers.flatMap((m) => (m.gift_breaches || []).map((g) => ({ ...g, manager: m.name })));
    const giftCard = card(t('comp.gifts'), gifts.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'gift-breaches' },
        h('thead', {}, h('tr', {}, ['comp.manager', 'comp.gift.customer', 'comp.gift.at', 'comp.gift.rule'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, gifts.map((g) => h('tr', {},
          h('th', { scope: 'row' }, g.manager),
          h('td', {}, h('a', { href: `#/customers/${g.customer_id}` }, names.get(g.customer_id) || `#${g.customer_id}`)),
          h('td', {}, dateTime(g.at)),
          h('td', {}, t(`comp.gift.${g.rule}`)))))))
      : h('p', { class: 'muted' }, t('comp.gifts.none')));
    out.append(card(t('comp.managers', { from: date(r.from), to: date(r.to) }), table), card(t('comp.teams'), teams), giftCard);
  } catch (e) {
    clear(out).append(alertBox(errorText(e)));
  }
  return h('div', { class: 'page' }, h('h1', {}, t('comp.title')), form, out);
}
