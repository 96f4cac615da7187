// 团队薪酬 (issue 26), #/team-pay: the supervisor scores each member's ten
// duties for a month with the evidence keqing has beside each duty,
// reviews the team's lines of the month's pay run, scores the 70/30
// scorecard and reads the rankings.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, field, select } from './ui.js';
import { money } from './format.js';
import { lastMonth, linesTable } from './pay.js';

/** The evidence offered beside a duty, or null. */
function evidenceText(duty, ev) {
  switch (duty.evidence) {
    case 'changes_registered': return t('tp.ev.changes', { ok: ev.changes_on_time, late: ev.changes_late });
    case 'greetings_done': return t('tp.ev.greetings', { n: ev.greetings_done });
    case 'help_weeks': return t('tp.ev.help', { n: ev.help_weeks, weeks: ev.weeks_in_month });
    default: return null;
  }
}

function memberCard(app, month, duties, m, editable) {
  const scored = new Map(m.scores.map((s) => [s.no, s.score]));
  const soft = h('strong', { 'data-testid': 'member-soft' }, money(m.soft));
  const msg = h('div', { 'aria-live': 'polite' });
  const inputs = duties.map((d) => h('input', {
    type: 'number', min: '0', max: '100', step: '1', inputmode: 'numeric', value: scored.has(d.no) ? String(scored.get(d.no)) : '',
    'aria-label': t('tp.score.label', { no: d.no }), 'data-duty': d.no, class: 'score', disabled: !editable,
  }));
  const rows = duties.map((d, i) => {
    const ev = evidenceText(d, m.evidence);
    return h('tr', {},
      h('td', {}, `${d.no}.`),
      h('td', {}, d.title, ev ? h('div', { class: 'muted evidence', 'data-testid': 'evidence' }, `${t('tp.evidence')}${ev}`) : null),
      h('td', { class: 'num' }, money(d.amount)),
      h('td', {}, inputs[i]));
  });
  const save = editable ? h('button', {
    type: 'button', class: 'btn btn-primary', 'data-testid': 'checklist-save',
    onclick: async () => {
      clear(msg);
      const scores = duties.map((d, i) => ({ no: d.no, score: inputs[i].value.trim() })).filter((s) => s.score !== '').map((s) => ({ no: s.no, score: Number(s.score) }));
      try {
        const r = await api('/pay/checklist', { method: 'PUT', body: { month, user_id: m.user_id, scores } });
        soft.textContent = money(r.soft);
        toast(t('tp.saved', { name: m.name }));
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, t('tp.save')) : null;
  const quick = editable ? h('button', {
    type: 'button', class: 'btn btn-ghost', onclick: () => { for (const x of inputs) if (!x.value) x.value = '100'; },
  }, t('tp.fill')) : null;
  return h('section', { class: 'card', 'data-testid': 'member', 'data-user': m.user_id },
    h('h3', {}, m.name, ' ', h('span', { class: 'muted' }, t('tp.soft')), soft),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table checklist' },
      h('thead', {}, h('tr', {}, ['#', t('tp.duty'), t('tp.amount'), t('tp.score')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows))),
    msg, h('div', { class: 'actions' }, quick, save));
}

async function reviewCard(app, month) {
  const runs = (await api('/pay/runs')).items;
  const meta = runs.find((r) => r.month === month);
  if (!meta) return card(t('tp.run.title'), h('p', { class: 'muted' }, t('tp.run.none', { month })));
  const box = h('div', {});
  const msg = h('div', { 'aria-live': 'polite', 'data-testid': 'review-msg' });
  const draw = (run) => {
    // (append writes a null as the text "null": leave the absent out.)
    clear(box).append(...[
      h('p', {}, h('span', { class: 'badge', 'data-testid': 'run-status', 'data-status': run.status }, label('payroll.status', run.status))),
      app.can('pay', 'update') && run.status === 'draft' ? h('button', {
        type: 'button', class: 'btn btn-primary', 'data-testid': 'team-review',
        onclick: async () => {
          clear(msg);
          try { draw(await api(`/pay/runs/${run.id}/review`, { method: 'POST', body: { version: run.version } })); toast(t('tp.reviewed')); } catch (e) { msg.append(alertBox(errorText(e))); }
        },
      }, t('tp.review')) : null,
      msg,
      linesTable(run.lines)].filter(Boolean));
  };
  draw(await api(`/pay/runs/${meta.id}`));
  return card(t('tp.run.title'), box);
}

async function scorecardCard(app, month, members, editable) {
  const [settings, ranked0] = await Promise.all([api('/pay/settings'), api(`/scorecard/rankings?month=${month}&level=team`)]);
  const items = settings.items;
  const table = h('div', {});
  const level = select([['team', t('tp.level.team')], ['region', t('tp.level.region')], ['company', t('tp.level.company')]], 'team', { 'data-testid': 'rank-level' });
  const drawRanks = (r) => clear(table).append(r.ranked.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'rankings' },
    h('thead', {}, h('tr', {}, [t('tp.rank.group'), t('tp.rank.rank'), t('payroll.col.name'), t('tp.rank.q'), t('tp.rank.l'), t('tp.rank.total')].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, r.ranked.map((c) => h('tr', {},
      h('td', {}, c.group), h('td', { class: 'num' }, String(c.rank)), h('td', {}, c.name),
      h('td', { class: 'num' }, c.quantitative.toFixed(2)), h('td', { class: 'num' }, c.qualitative.toFixed(2)),
      h('td', { class: 'num', 'data-testid': 'rank-total' }, c.total.toFixed(2))))))) : h('p', { class: 'muted' }, t('tp.rank.none')));
  drawRanks(ranked0);
  level.addEventListener('change', async () => drawRanks(await api(`/scorecard/rankings?month=${month}&level=${level.value}`)));
  const who = select(members.map((m) => [m.user_id, m.name]), members[0]?.user_id, { 'data-testid': 'card-user' });
  const inputs = items.map((it) => h('input', { type: 'number', min: '0', max: '100', 'aria-label': it.name, 'data-item': it.key, disabled: !editable }));
  const msg = h('div', { 'aria-live': 'polite' });
  const form = editable && members.length ? h('form', {
    novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      const scores = items.map((it, i) => ({ key: it.key, score: inputs[i].value.trim() })).filter((s) => s.score !== '').map((s) => ({ key: s.key, score: Number(s.score) }));
      try {
        await api('/scorecard/scores', { method: 'PUT', body: { month, user_id: Number(who.value), scores } });
        toast(t('tp.card.saved'));
        drawRanks(await api(`/scorecard/rankings?month=${month}&level=${level.value}`));
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  },
  field(t('payroll.col.name'), who),
  h('div', { class: 'form-grid' }, items.map((it, i) => field(`${it.name}（${label('tp.group', it.group)} ${it.weight}%）`, inputs[i]))),
  msg,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'card-save' }, t('tp.card.save')))) : null;
  return card(t('tp.card.title'), h('p', { class: 'muted' }, t('tp.card.intro')), form, field(t('tp.level'), level), table);
}

/** #/team-pay?month=YYYY-MM */
export async function teamPay(app, { params }) {
  const month = params.get('month') || lastMonth();
  const editable = app.can('pay', 'update');
  const list = await api(`/pay/checklist?month=${month}`);
  const pick = h('input', { type: 'month', value: month, 'data-testid': 'tp-month', onchange: (ev) => app.go(`#/team-pay?month=${ev.target.value}`) });
  return h('div', { class: 'stack' },
    h('h1', {}, t('tp.title')),
    field(t('payroll.month'), pick),
    card(t('tp.checklist'), h('p', { class: 'muted' }, t('tp.checklist.intro')),
      list.members.length ? list.members.map((m) => memberCard(app, month, list.duties, m, editable)) : h('p', { class: 'muted' }, t('tp.members.none'))),
    await reviewCard(app, month),
    await scorecardCard(app, month, list.members, editable));
}
