// 薪酬 (issue 26): finance's pay runs — create a month's run, read each line
// with its formula P = A + B + C, approve, lock, export for payroll, add an
// adjustment (the only change a locked run takes) — and the year-end bonus
// (simulate, save, approve, lock). #/pay lists the runs, #/pay/ID opens one.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, field, select } from './ui.js';
import { money, dateTime } from './format.js';

/** The month before this one, YYYY-MM (China time is close enough here). */
export function lastMonth() {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

/** Whether the user keeps the runs (finance, administrators). */
function keeper(app) { return ['finance', 'admin'].includes(app.user.role); }

function statusBadge(status) {
  return h('span', { class: `badge badge-${status}`, 'data-testid': 'run-status', 'data-status': status }, label('payroll.status', status));
}

/** The lines of a run as a table, each with its formula. */
/**
 * A pay line's inputs as people read them: B's formula with its plan and
 * actual, the rate and where it comes from, each duty's score × amount.
 */
export function inputsView(inputs) {
  const rate = Number(inputs.rate);
  return [
    inputs.hard ? h('p', { class: 'muted' }, inputs.hard) : null,
    inputs.rate != null ? h('p', { class: 'muted' }, t('payroll.inputs.rate', {
      rate: Number.isFinite(rate) ? `${+(rate * 100).toFixed(2)}%` : inputs.rate,
      source: inputs.rate_source ?? '',
    })) : null,
    Array.isArray(inputs.duties) ? h('ul', { class: 'plain' }, inputs.duties.map((d) =>
      h('li', {}, `${d.no}. ${d.title} — ${d.score}% × ${money(d.amount)} = ${money(d.earned)}`))) : null,
  ];
}

export function linesTable(lines) {
  if (!lines.length) return h('p', { class: 'muted' }, t('payroll.lines.none'));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'pay-lines' },
    h('thead', {}, h('tr', {},
      [t('payroll.col.name'), t('payroll.col.base'), t('payroll.col.hard'), t('payroll.col.soft'), t('payroll.col.total'), t('payroll.col.formula'), t('payroll.col.reviewed')]
        .map((x, i) => h('th', { scope: 'col', class: i >= 1 && i <= 4 ? 'num' : null }, x)))),
    h('tbody', {}, lines.map((l) => h('tr', { 'data-user': l.user_id, class: l.adjustment ? 'adjustment' : null },
      h('td', {}, l.name, l.adjustment ? h('span', { class: 'badge' }, ` ${t('payroll.adjustment')}`) : null),
      h('td', { class: 'num' }, l.adjustment ? '' : money(l.base)),
      h('td', { class: 'num' }, l.adjustment ? '' : money(l.hard)),
      h('td', { class: 'num' }, l.adjustment ? '' : money(l.soft)),
      h('td', { class: 'num', 'data-testid': 'line-total' }, money(l.total)),
      h('td', {},
        h('code', { class: 'formula' }, l.formula.text),
        l.formula.inputs ? h('details', {}, h('summary', {}, t('payroll.inputs')), ...inputsView(l.formula.inputs)) : null),
      h('td', {}, l.adjustment ? '' : (l.reviewed ? '✓' : '—')))))));
}

async function runPage(app, id) {
  const root = h('div', { class: 'stack' });
  const msg = h('div', { 'aria-live': 'polite', 'data-testid': 'pay-msg' });
  const draw = (run) => {
    const act = (path, text, testid) => h('button', {
      type: 'button', class: 'btn', 'data-testid': testid,
      onclick: async () => {
        clear(msg);
        try {
          const next = await api(`/pay/runs/${run.id}/${path}`, { method: 'POST', body: { version: run.version } });
          toast(t('payroll.done'));
          draw(next);
        } catch (e) { msg.append(alertBox(errorText(e))); }
      },
    }, text);
    const actions = [];
    if (keeper(app)) {
      actions.push(act('recompute', t('payroll.recompute'), 'run-recompute'));
      if (app.user.role === 'admin' || app.user.role === 'finance') actions.push(act('review', t('payroll.review.all'), 'run-review'));
      actions.push(act('approve', t('payroll.approve'), 'run-approve'));
      actions.push(act('lock', t('payroll.lock'), 'run-lock'));
    }
    actions.push(h('a', { class: 'btn', href: `/api/v1/pay/runs/${run.id}/export.xlsx`, download: `pay-${run.month}.xlsx`, 'data-testid': 'run-export' }, t('payroll.export')));
    const who = [
      ['reviewed', run.reviewed_by, run.reviewed_at],
      ['approved', run.approved_by, run.approved_at],
      ['locked', run.locked_by, run.locked_at],
    ].filter(([, by]) => by).map(([k, by, at]) => h('li', {}, t(`pay.who.${k}`, { name: app.userName(by), at: dateTime(at) })));
    const adjust = keeper(app) ? adjustForm(app, run, draw, msg) : null;
    // (append writes a null as the text "null": leave the absent out.)
    clear(root).append(...[
      h('p', {}, h('a', { href: '#/pay' }, t('payroll.back'))),
      card(t('payroll.run.title', { month: run.month }),
        h('p', {}, statusBadge(run.status), ' ', t('payroll.run.total', { total: money(run.total) }), ' ', h('span', { class: 'muted' }, t('payroll.version', { v: run.version }))),
        run.status === 'locked' ? alertBox(t('payroll.locked.note'), 'info') : null,
        who.length ? h('ul', { class: 'plain muted' }, who) : null,
        h('div', { class: 'actions wrap' }, actions),
        msg,
        linesTable(run.lines)),
      adjust].filter(Boolean));
  };
  draw(await api(`/pay/runs/${id}`));
  return root;
}

function adjustForm(app, run, draw, msg) {
  const people = [...new Map(run.lines.map((l) => [l.user_id, l.name])).entries()];
  const who = select(people.map(([uid, name]) => [uid, name]), people[0]?.[0], { 'data-testid': 'adj-user' });
  const amount = h('input', { inputmode: 'decimal', placeholder: '-200.00', 'data-testid': 'adj-amount', required: true });
  const reason = h('input', { maxlength: 500, 'data-testid': 'adj-reason', required: true });
  return card(t('payroll.adjust.title'),
    h('p', { class: 'muted' }, t('payroll.adjust.intro')),
    h('form', {
      class: 'form-grid', novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        try {
          draw(await api(`/pay/runs/${run.id}/adjustments`, { method: 'POST', body: { user_id: Number(who.value), amount: amount.value.trim(), reason: reason.value.trim() } }));
          toast(t('payroll.adjust.done'));
        } catch (e) { msg.append(alertBox(errorText(e))); msg.scrollIntoView({ block: 'nearest' }); }
      },
    },
    field(t('payroll.col.name'), who), field(t('payroll.adjust.amount'), amount), field(t('payroll.adjust.reason'), reason),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'adj-submit' }, t('payroll.adjust.submit')))));
}

function bonusCard(app) {
  const year = h('input', { type: 'number', min: '2000', max: '2100', value: String(new Date().getFullYear()), 'data-testid': 'bonus-year' });
  const rate = h('input', { value: '5%', 'data-testid': 'bonus-rate' });
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'bonus-out' });
  const show = (b) => {
    const stored = b.id !== null && b.id !== undefined;
    const step = (path, text) => h('button', {
      type: 'button', class: 'btn', onclick: async () => {
        try { show(await api(`/bonus/runs/${b.id}/${path}`, { method: 'POST', body: { version: b.version } })); } catch (e) { out.append(alertBox(errorText(e))); }
      },
    }, text);
    clear(out).append(...[
      h('p', {}, t('payroll.bonus.summary', { sales: money(b.sales), rate: b.rate, pool: money(b.pool), pay: money(b.total_pay) }), ' ',
        stored ? statusBadge(b.status) : h('span', { class: 'badge' }, t('payroll.bonus.simulation'))),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, [t('payroll.col.name'), t('payroll.bonus.pay'), t('payroll.bonus.months'), t('payroll.bonus.factor'), t('payroll.bonus.bonus')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, b.shares.map((s) => h('tr', {},
          h('td', {}, s.name), h('td', { class: 'num' }, money(s.pay)), h('td', { class: 'num' }, String(s.months_of_service)),
          h('td', { class: 'num' }, `${Math.round(s.factor * 100)}%`), h('td', { class: 'num' }, money(s.bonus))))))),
      keeper(app) ? h('div', { class: 'actions' },
        !stored ? h('button', {
          type: 'button', class: 'btn', onclick: async () => {
            try { show(await api('/bonus/runs', { method: 'POST', body: { year: Number(year.value), rate: rate.value.trim() || undefined } })); } catch (e) { out.append(alertBox(errorText(e))); }
          },
        }, t('payroll.bonus.save')) : null,
        stored && b.status === 'draft' ? step('approve', t('payroll.approve')) : null,
        stored && b.status === 'approved' ? step('lock', t('payroll.lock')) : null) : null].filter(Boolean));
  };
  return card(t('payroll.bonus.title'),
    h('p', { class: 'muted' }, t('payroll.bonus.intro')),
    h('div', { class: 'form-grid' }, field(t('payroll.bonus.year'), year), field(t('payroll.bonus.rate'), rate),
      h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'btn btn-primary', 'data-testid': 'bonus-simulate',
        onclick: async () => {
          clear(out);
          try { show(await api('/bonus/simulate', { method: 'POST', body: { year: Number(year.value), rate: rate.value.trim() || undefined } })); } catch (e) { out.append(alertBox(errorText(e))); }
        },
      }, t('payroll.bonus.simulate')))),
    out);
}


/** Finance's settings: the duties' weights and amounts, the scorecard's weights (each must add up to 100). */
async function settingsCard() {
  const st = await api('/pay/settings');
  let dv = st.duties_version;
  let iv = st.items_version;
  const msg = h('div', { 'aria-live': 'polite', 'data-testid': 'settings-msg' });
  const num = (v, label, testid) => h('input', { type: 'number', min: '0', max: '100', step: '1', value: String(v), 'aria-label': label, 'data-testid': testid });
  const dRows = st.duties.map((d) => ({
    d,
    weight: num(d.weight, t('payroll.set.weight.of', { name: `${d.no}. ${d.title}` }), `duty-weight-${d.no}`),
    amount: h('input', { inputmode: 'decimal', value: d.amount, 'aria-label': t('payroll.set.amount.of', { name: `${d.no}. ${d.title}` }) }),
  }));
  const iRows = st.items.map((it) => ({ it, weight: num(it.weight, t('payroll.set.weight.of', { name: it.name }), `item-weight-${it.key}`) }));
  const save = async (path, body, after) => {
    clear(msg);
    try { after(await api(path, { method: 'PUT', body })); toast(t('payroll.set.saved')); } catch (e) { msg.append(alertBox(errorText(e))); }
  };
  return card(t('payroll.set.title'),
    h('p', { class: 'muted' }, t('payroll.set.intro')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('tp.duty'), t('payroll.set.weight'), t('tp.amount')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, dRows.map((r) => h('tr', {}, h('td', {}, `${r.d.no}. ${r.d.title}`), h('td', {}, r.weight), h('td', {}, r.amount)))))),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'btn', 'data-testid': 'duties-save',
      onclick: () => save('/pay/duties', {
        version: dv,
        duties: dRows.map((r) => ({ ...r.d, weight: Number(r.weight.value), amount: r.amount.value.trim() })),
      }, (a) => { dv = a.version; }),
    }, t('payroll.set.save.duties'))),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('payroll.set.item'), t('payroll.set.weight')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, iRows.map((r) => h('tr', {}, h('td', {}, `${r.it.name}（${label('tp.group', r.it.group)}）`), h('td', {}, r.weight)))))),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'btn', 'data-testid': 'items-save',
      onclick: () => save('/scorecard/items', {
        version: iv,
        items: iRows.map((r) => ({ ...r.it, weight: Number(r.weight.value) })),
      }, (a) => { iv = a.version; }),
    }, t('payroll.set.save.items'))),
    msg);
}

/** #/pay: the runs, a new run, the bonus; #/pay/ID: one run. */
export async function pay(app, { id }) {
  if (id) return runPage(app, id);
  const runs = (await api('/pay/runs')).items;
  const month = h('input', { type: 'month', value: lastMonth(), 'data-testid': 'run-month' });
  const msg = h('div', { 'aria-live': 'polite' });
  const create = keeper(app) ? h('form', {
    class: 'form-grid', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      try {
        const run = await api('/pay/runs', { method: 'POST', body: { month: month.value } });
        app.go(`#/pay/${run.id}`);
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, field(t('payroll.month'), month), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'run-create' }, t('payroll.create')))) : null;
  const list = runs.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'pay-runs' },
    h('thead', {}, h('tr', {}, [t('payroll.month'), t('payroll.status'), t('payroll.col.updated')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, runs.map((r) => h('tr', {},
      h('td', {}, h('a', { href: `#/pay/${r.id}` }, r.month)),
      h('td', {}, statusBadge(r.status)),
      h('td', {}, dateTime(r.locked_at || r.approved_at || r.reviewed_at || r.created_at))))))) : h('p', { class: 'muted' }, t('payroll.runs.none'));
  return h('div', { class: 'stack' },
    h('h1', {}, t('payroll.title')),
    card(t('payroll.runs'), h('p', { class: 'muted' }, t('payroll.intro')), create, msg, list),
    app.scope('pay', 'read') === 'all' ? bonusCard(app) : null,
    keeper(app) ? await settingsCard() : null);
}
