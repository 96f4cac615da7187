// Customer 360: everything about one customer on one page — the file and the
// relationship card (edited in place), contacts, the timeline, value, and the
// form to log what was done.
import { api } from './api.js';
import { t, label, getLang, has } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, toast, id, errorLine, fieldErrors } from './ui.js';
import { date, dateTime, money, fen, yuanFromFen, today, daysBetween, month, num, percent } from './format.js';
import { monthlyPurchases, sparkline } from './chart.js';
import { releaseToPool } from './pool.js';
import { newCustomerPage, contactsCard, orderCard, ordersCard, keyDatesCard, membersCard, changesCard, adminCard } from './customer-forms.js';

const FILE_FIELDS = [
  ['name', 'text'], ['kind', ['company', 'individual'], 'kind'],
  ['company_type', ['state_owned', 'private', 'foreign', 'institution', 'government', 'other'], 'ctype'],
  ['industry', 'text'], ['province', 'text'], ['city', 'text'], ['district', 'text'], ['address', 'text'],
  ['phone', 'tel'], ['website', 'text'], ['email', 'email'], ['external_code', 'text'],
  ['source', ['referral', 'advertising', 'media', 'walk_in', 'other'], 'source'],
  ['stage', ['to_identify', 'potential', 'opportunity', 'order_customer', 'user'], 'stage'],
  ['business_stage', ['new', 'intent', 'existing'], 'bstage'],
  ['class', ['A', 'B', 'C', 'D']], ['tier', 'text'], ['tags', 'tags'], ['key_customer', 'bool'],
];
const CARD_FIELDS = [
  ['interests', 'textarea'], ['recent_events', 'textarea'], ['business_progress', 'textarea'],
  ['taboos', 'textarea'], ['gifts_forbidden', 'bool'], ['gift_policy', 'text'], ['preferred_contact_time', 'text'],
];
const ACT_KINDS = ['visit', 'call', 'sms', 'wechat', 'email', 'meal', 'gift', 'help', 'opportunity', 'feedback'];
const HELP_KINDS = ['favour', 'problem_solved', 'complaint_handled', 'advice', 'need_learned', 'work_done', 'proposal'];
const FEEDBACK_KINDS = ['opinion', 'competitor_product', 'competitor_activity'];

function shown(value, spec, prefix) {
  if (value === null || value === undefined || value === '') return '—';
  if (spec === 'bool') return value ? t('common.yes') : t('common.no');
  if (spec === 'tags') return value.length ? value.join('、') : '—';
  if (prefix) return label(prefix, value);
  return String(value);
}

function control(key, spec, value, prefix) {
  if (spec === 'bool') return h('input', { type: 'checkbox', name: key, checked: !!value });
  if (spec === 'textarea') return h('textarea', { name: key, rows: 2 }, value ?? '');
  if (spec === 'tags') return h('input', { name: key, value: (value || []).join(', ') });
  if (Array.isArray(spec)) return select([['', '—'], ...spec.map((v) => [v, prefix ? label(prefix, v) : v])], value, { name: key });
  return h('input', { name: key, type: spec, value: value ?? '' });
}

function read(el, spec) {
  if (spec === 'bool') return el.checked;
  if (spec === 'tags') return el.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean);
  const v = el.value.trim();
  return v === '' ? null : v;
}

/**
 * A card of fields shown as a definition list, switched in place to a form.
 * `patch(values)` builds the PATCH body; a 409 shows who won and offers a reload.
 */
function editableCard(app, ctx, title, fields, values, patch, testid) {
  const body = h('div', {});
  const msg = h('div', { 'aria-live': 'polite' });
  // Shown only where the role may change this customer (the server refuses otherwise).
  const editBtn = app.can('customer', 'update', ctx.customer) && !ctx.customer.deleted_at
    ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': `${testid}-edit`, onclick: () => edit() }, t('common.edit'))
    : null;
  const view = () => {
    clear(body).append(h('dl', { class: 'dl' }, fields.map(([k, spec, prefix]) => [
      h('dt', {}, t(`f.${k}`)), h('dd', {}, shown(values[k], spec, prefix))])));
    if (editBtn) editBtn.hidden = false;
  };
  const edit = () => {
    editBtn.hidden = true;
    const controls = {};
    const form = h('form', {
      class: 'form-grid', 'data-testid': `${testid}-form`,
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        const next = {};
        for (const [k, spec] of fields) next[k] = read(controls[k], spec);
        const save = form.querySelector('button[type=submit]');
        save.disabled = true;
        try {
          const updated = await api(`/customers/${ctx.customer.id}`, { method: 'PATCH', body: { ...patch(next), version: ctx.customer.version } });
          ctx.customer = updated;
          toast(t('common.saved'));
          // Fetch again so the change shows on the timeline too.
          await ctx.reload();
        } catch (e) {
          save.disabled = false;
          const box = alertBox(errorText(e));
          if (e.code === 'version_conflict') {
            box.append(' ', h('button', { type: 'button', class: 'btn btn-small', onclick: () => ctx.reload() }, t('c.conflict.reload')));
            box.dataset.testid = 'conflict';
          }
          msg.append(box);
        }
      },
    },
    fields.map(([k, spec, prefix]) => {
      controls[k] = control(k, spec, values[k], prefix);
      if (spec === 'bool') {
        controls[k].id = id();
        return h('div', { class: 'field field-check' }, controls[k], h('label', { for: controls[k].id }, t(`f.${k}`)));
      }
      return field(t(`f.${k}`), controls[k], spec === 'tags' ? t('c.tags.hint') : null);
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save')),
      h('button', { type: 'button', class: 'btn', onclick: () => { clear(msg); view(); } }, t('common.cancel'))));
    clear(body).append(form);
    form.querySelector('input,select,textarea')?.focus();
  };
  view();
  const c = card(title, msg, body);
  c.dataset.testid = testid;
  if (editBtn) c.querySelector('h2').append(' ', editBtn);
  return c;
}

/** A custom value as shown: a list joined, a date in words, a number grouped. */
function customShown(def, v) {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return '—';
  if (def.type === 'multi_choice') return [].concat(v).join('、');
  if (def.type === 'date' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return date(v);
  return String(v);
}

/** The input for one custom field's type (SPEC §1): {el, read(), focus}. */
function customControl(def, value) {
  const name = `custom-${def.key}`;
  if (def.type === 'multi_choice') {
    const chosen = new Set([].concat(value ?? []));
    const boxes = (def.options || []).map((o) => h('input', { type: 'checkbox', value: o, checked: chosen.has(o), id: id() }));
    const group = h('fieldset', { class: 'field field-wide', 'data-custom': def.key },
      h('legend', {}, def.label, def.required ? ' *' : ''),
      h('div', { class: 'chips' }, boxes.map((b) => h('span', { class: 'field-check' }, b, h('label', { for: b.id }, b.value)))));
    return { el: group, control: boxes[0] || group, read: () => boxes.filter((b) => b.checked).map((b) => b.value) };
  }
  let control;
  if (def.type === 'choice') control = select([['', '—'], ...(def.options || []).map((o) => [o, o])], value ?? '', { name });
  else if (def.type === 'number') control = h('input', { name, type: 'number', step: 'any', inputmode: 'decimal', value: value ?? '' });
  else if (def.type === 'date') control = h('input', { name, type: 'date', value: value ?? '' });
  else control = h('input', { name, value: value ?? '' });
  if (def.required) control.required = true;
  const el = field(`${def.label}${def.required ? ' *' : ''}`, control);
  el.dataset.custom = def.key;
  return {
    el, control,
    read: () => {
      const v = control.value.trim();
      if (v === '') return null;
      return def.type === 'number' && Number.isFinite(Number(v)) ? Number(v) : v;
    },
  };
}

/** The deployment's own profile fields, edited in place, sent as `custom` with the version read. */
function customCard(app, ctx, defs) {
  const c = ctx.customer;
  const values = c.custom || {};
  const body = h('div', {});
  const msg = h('div', { 'aria-live': 'polite' });
  const editBtn = app.can('customer', 'update', c)
    ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'custom-edit', onclick: () => edit() }, t('common.edit'))
    : null;
  const view = () => {
    clear(body).append(h('dl', { class: 'dl' }, defs.map((d) => [h('dt', {}, d.label), h('dd', { 'data-custom': d.key }, customShown(d, values[d.key]))])));
    if (editBtn) editBtn.hidden = false;
  };
  const edit = () => {
    editBtn.hidden = true;
    const controls = defs.map((d) => {
      const ctl = customControl(d, values[d.key]);
      ctl.error = errorLine(ctl.control);
      ctl.el.append(ctl.error);
      return [d, ctl];
    });
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
    const form = h('form', {
      class: 'form-grid', 'data-testid': 'custom-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        for (const [, ctl] of controls) ctl.error.set('');
        const custom = { ...values };
        for (const [d, ctl] of controls) custom[d.key] = ctl.read();
        save.disabled = true;
        try {
          ctx.customer = await api(`/customers/${c.id}`, { method: 'PATCH', body: { custom, version: c.version } });
          toast(t('common.saved'));
          await ctx.reload();
        } catch (e) {
          save.disabled = false;
          const errs = fieldErrors(e);
          let placed = false;
          for (const [d, ctl] of controls) {
            const m = errs.get(`custom.${d.key}`);
            if (m) { ctl.error.set(m); placed = true; }
          }
          if (!placed) {
            const box = alertBox(errorText(e));
            if (e.code === 'version_conflict') {
              box.append(' ', h('button', { type: 'button', class: 'btn btn-small', onclick: () => ctx.reload() }, t('c.conflict.reload')));
              box.dataset.testid = 'conflict';
            }
            msg.append(box);
          }
        }
      },
    }, controls.map(([, ctl]) => ctl.el),
    h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: () => { clear(msg); view(); } }, t('common.cancel'))));
    clear(body).append(form);
    form.querySelector('input,select,textarea')?.focus();
  };
  view();
  const el = card(t('c.custom'), msg, body);
  el.dataset.testid = 'custom';
  if (editBtn) el.querySelector('h2').append(' ', editBtn);
  return el;
}

/** What is coming for this customer: festivals, contacts' birthdays (solar or lunar), the company's dates. */
function occasionsCard(r) {
  const now = today();
  const what = (o) => {
    if (o.kind === 'occasion') return getLang() === 'en' ? o.name_en : o.name_zh;
    const lunar = o.lunar ? ` ${t('c.occ.lunar')}` : '';
    if (o.kind === 'birthday') {
      return `${o.years ? t('c.occ.birthday.years', { name: o.contact_name, n: o.years }) : t('c.occ.birthday', { name: o.contact_name })}${lunar}`;
    }
    return `${o.name}${o.years ? ` ${t('occ.years', { n: o.years })}` : ''}${lunar}`;
  };
  const when = (d) => {
    const n = daysBetween(now, d);
    return n === 0 ? t('c.occ.today') : t('c.occ.in', { n });
  };
  const list = r.items.length
    ? h('ul', { class: 'list occ-list', 'data-testid': 'occasions' }, r.items.map((o) => h('li', { 'data-kind': o.kind },
      h('span', { class: 'occ-date' }, date(o.date)),
      h('span', {}, what(o), ' ', h('span', { class: 'muted' }, when(o.date))))))
    : h('p', { class: 'muted' }, t('c.occ.none'));
  return card(t('c.occ.title'), list);
}

function plain(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.join('、') || '—';
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Labels of the deployment's custom fields, by key (set when the page loads). */
let customLabels = new Map();

function fieldName(key) {
  if (customLabels.has(key)) return customLabels.get(key);
  return has(`f.${key}`) ? t(`f.${key}`) : key;
}

/** One timeline entry per changed field; the relationship card is opened up field by field. */
function changeEntries(c) {
  const entry = (field, old, now) => ({
    at: c.at, kind: 'change', text: '', who: c.user_id, whoName: c.user_name,
    title: t('c.tl.change', { field: fieldName(field), old: plain(old), new: plain(now) }),
  });
  const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (isObj(c.old) || isObj(c.new)) {
    const o = isObj(c.old) ? c.old : {};
    const n = isObj(c.new) ? c.new : {};
    return [...new Set([...Object.keys(o), ...Object.keys(n)])]
      .filter((k) => JSON.stringify(o[k] ?? null) !== JSON.stringify(n[k] ?? null))
      .map((k) => entry(k, o[k], n[k]));
  }
  return [entry(c.field, c.old, c.new)];
}

function timelineCard(app, activities, orders, history, contacts) {
  const names = new Map(contacts.map((k) => [k.id, k.name]));
  const items = [
    ...activities.map((a) => ({
      at: a.at, kind: 'activity', testid: `activity-${a.id}`,
      title: label('act', a.kind),
      text: [a.contact_id ? names.get(a.contact_id) : null, a.help_kind && label('help', a.help_kind), a.matter && label('matter', a.matter),
        a.feedback_kind && label('fb', a.feedback_kind), a.gift_item, a.gift_value && money(a.gift_value), a.summary].filter(Boolean).join(' · '),
      who: a.user_id, whoName: a.user_name,
    })),
    ...orders.map((o) => ({
      at: o.ordered_at, kind: 'order', title: t('c.tl.order', { amount: money(o.amount) }), testid: `order-${o.id}`,
      text: [o.product, o.unit ? t('od.qty', { n: o.quantity, unit: label('unit', o.unit) }) : (o.quantity > 1 ? `×${o.quantity}` : null), o.channel, o.store].filter(Boolean).join(' · '),
    })),
    ...history.flatMap(changeEntries),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  if (!items.length) {
    const empty = card(t('c.timeline'), h('p', { class: 'muted' }, t('c.timeline.none')));
    empty.classList.add('c-timeline');
    return empty;
  }
  const list = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
  const more = h('button', { type: 'button', class: 'btn btn-small' }, t('c.timeline.more'));
  let shownCount = 0;
  // A phone shows a few entries first, so the panels after the timeline are near.
  const step = window.matchMedia('(max-width: 900px)').matches ? 8 : 25;
  const showMore = () => {
    list.append(...items.slice(shownCount, shownCount + step).map((it) => h('li', { class: `tl tl-${it.kind}`, 'data-testid': it.testid || null },
      h('div', { class: 'tl-when muted' }, dateTime(it.at)),
      h('div', {}, h('strong', {}, it.title), it.who ? h('span', { class: 'muted' }, ' · ', app.userName(it.who, it.whoName)) : null,
        it.text ? h('div', {}, it.text) : null))));
    shownCount += step;
    more.hidden = shownCount >= items.length;
  };
  more.addEventListener('click', showMore);
  showMore();
  const el = card(t('c.timeline'), list, more);
  el.classList.add('c-timeline');
  return el;
}

const SPARK_MONTHS = 24;

/**
 * The value panel: what the analysis wrote on the file (RFM class, ABC class,
 * tier, CLV, P(alive)) and the orders themselves, with a sparkline of the
 * purchases of the last 24 months.
 */
function valueCard(c, orders) {
  const total = orders.reduce((s, o) => s + (fen(o.amount) ?? 0n), 0n);
  const last = orders.map((o) => o.ordered_at).sort().pop();
  const series = monthlyPurchases(orders, SPARK_MONTHS);
  const inWindow = series.reduce((s, m) => s + m.fen, 0n);
  const count = series.reduce((s, m) => s + m.count, 0);
  const peak = series.reduce((best, m) => (m.fen > best.fen ? m : best), series[0]);
  const spoken = count
    ? t('c.value.spark.alt', { n: SPARK_MONTHS, count: num(count), amount: yuanFromFen(inWindow), month: month(peak.month), peak: yuanFromFen(peak.fen) })
    : t('c.value.spark.none', { n: SPARK_MONTHS });
  const box = h('div', {
    class: 'chart sparkline', role: 'img', 'aria-label': spoken, 'data-testid': 'sparkline',
    'data-months': String(SPARK_MONTHS), 'data-count': String(count), 'data-total': yuanFromFen(inWindow),
    'data-values': series.map((m) => m.fen.toString()).join(','),
  });
  const alive = typeof c.p_alive === 'number' ? c.p_alive : null;
  const el = card(t('c.value'),
    h('dl', { class: 'dl dl-compact', 'data-testid': 'value' },
      h('dt', {}, t('c.value.rfm')), h('dd', { 'data-testid': 'value-rfm' }, label('rfm', c.rfm_class) || '—'),
      h('dt', {}, t('c.value.abc')), h('dd', { 'data-testid': 'value-abc' }, c.class || '—'),
      h('dt', {}, t('f.tier')), h('dd', {}, c.tier || '—'),
      h('dt', {}, t('c.value.clv')), h('dd', { 'data-testid': 'value-clv' }, c.clv ? money(c.clv) : '—'),
      h('dt', {}, t('c.value.alive')), h('dd', { 'data-testid': 'value-alive' }, alive === null ? '—' : [
        percent(alive, { digits: 1 }), ' ',
        h('meter', { min: '0', max: '1', low: '0.3', high: '0.7', optimum: '1', value: String(alive), 'aria-hidden': 'true' })]),
      h('dt', {}, t('c.value.orders')), h('dd', {}, num(orders.length)),
      h('dt', {}, t('c.value.total')), h('dd', { 'data-testid': 'order-total' }, yuanFromFen(total)),
      h('dt', {}, t('c.value.last')), h('dd', {}, last ? date(last) : '—')),
    c.rfm_class || c.clv || alive !== null ? null : h('p', { class: 'hint' }, t('c.value.notyet')),
    h('h3', {}, t('c.value.spark', { n: SPARK_MONTHS })),
    box,
    h('p', { class: 'hint', 'aria-hidden': 'true' }, spoken));
  if (count) {
    sparkline(box, series, {
      name: t('c.value.total'), month,
      amount: (m) => `${yuanFromFen(m.fen)} · ${t('c.value.spark.orders', { n: m.count })}`,
    });
  }
  return el;
}

/** A local date-time for <input type=datetime-local>: 2026-11-23T14:30. */
function localDateTime(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** What the card's rule says about a gift the server warned of (409 gift_against_card). */
function giftWarning(e) {
  const d = e.details || {};
  if (d.rule === 'forbidden') return t('c.log.gift.forbidden');
  return t('c.log.gift.over', { limit: d.limit ? money(d.limit) : '—', policy: d.policy || '—' });
}

function logForm(app, ctx, contacts) {
  const kinds = h('div', { class: 'chips', role: 'radiogroup', 'aria-label': t('c.log.kind') });
  let kind = 'visit';
  const extra = h('div', { class: 'form-grid' });
  const contact = select([['', '—'], ...contacts.map((k) => [k.id, k.name])], contacts[0]?.id ?? '');
  const summary = h('textarea', { rows: 2, name: 'summary', 'data-testid': 'log-summary' });
  const summaryError = errorLine(summary);
  // When it happened (yesterday's visit is logged today) and the next follow-up.
  const now = localDateTime(new Date());
  const at = h('input', { type: 'datetime-local', name: 'at', value: now, max: now, 'data-testid': 'log-at' });
  const atError = errorLine(at);
  const followUp = h('input', { type: 'date', name: 'follow_up_on', min: today(), 'data-testid': 'log-follow-up' });
  const followUpError = errorLine(followUp);
  const msg = h('div', { 'aria-live': 'polite', 'data-testid': 'log-msg' });
  const ctl = {};
  const renderExtra = () => {
    clear(extra);
    for (const k of Object.keys(ctl)) delete ctl[k];
    if (kind === 'gift') {
      ctl.gift_item = h('input', { name: 'gift_item', required: true, 'data-testid': 'log-gift-item' });
      ctl.gift_value = h('input', { name: 'gift_value', inputmode: 'decimal', pattern: '\\d+(\\.\\d{1,2})?', 'data-testid': 'log-gift-value' });
      extra.append(field(t('c.log.gift_item'), ctl.gift_item), field(t('c.log.gift_value'), ctl.gift_value));
    }
    if (kind === 'help') {
      ctl.help_kind = select(HELP_KINDS.map((k) => [k, label('help', k)]), 'favour', { name: 'help_kind' });
      ctl.matter = select([['company', label('matter', 'company')], ['personal', label('matter', 'personal')]], 'company', { name: 'matter' });
      extra.append(field(t('c.log.help_kind'), ctl.help_kind), field(t('c.log.matter'), ctl.matter));
    }
    if (kind === 'feedback') {
      ctl.feedback_kind = select(FEEDBACK_KINDS.map((k) => [k, label('fb', k)]), 'opinion', { name: 'feedback_kind' });
      extra.append(field(t('c.log.feedback_kind'), ctl.feedback_kind));
    }
  };
  const choose = (k) => {
    kind = k;
    for (const b of chipButtons) {
      b.setAttribute('aria-checked', String(b.dataset.kind === k));
      b.tabIndex = b.dataset.kind === k ? 0 : -1;
    }
    renderExtra();
  };
  // A radio group: one tab stop, the arrow keys move the choice.
  const chipButtons = ACT_KINDS.map((k, i) => h('button', {
    type: 'button', class: 'chip', role: 'radio', 'aria-checked': String(k === kind), 'data-kind': k,
    tabindex: k === kind ? '0' : '-1',
    onclick: () => choose(k),
    onkeydown: (ev) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[ev.key];
      if (!step) return;
      ev.preventDefault();
      const next = chipButtons[(i + step + chipButtons.length) % chipButtons.length];
      choose(next.dataset.kind);
      next.focus();
    },
  }, label('act', k)));
  kinds.append(...chipButtons);
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'log-save' }, t('common.save'));
  const send = async (body) => {
    save.disabled = true;
    try {
      await api(`/customers/${ctx.customer.id}/activities`, { method: 'POST', body });
      toast(body.follow_up_on ? t('c.log.saved.follow', { date: date(body.follow_up_on) }) : t('c.log.saved'));
      ctx.reload();
    } catch (e) {
      save.disabled = false;
      if (e.code === 'gift_against_card') {
        // The card says no gifts, or a smaller one: say so, and save only when confirmed.
        const confirmBtn = h('button', {
          type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'gift-confirm',
          onclick: () => { clear(msg); send({ ...body, acknowledge_card: true }); },
        }, t('c.log.gift.confirm'));
        const box = alertBox('', 'warn');
        box.setAttribute('role', 'alert');
        box.dataset.testid = 'gift-warning';
        box.dataset.rule = e.details?.rule || '';
        box.append(h('strong', {}, t('c.log.gift.title')), ' ', giftWarning(e), ' ', confirmBtn,
          ' ', h('button', { type: 'button', class: 'btn btn-small', onclick: () => clear(msg) }, t('common.cancel')));
        msg.append(box);
        confirmBtn.focus();
        return;
      }
      const errs = fieldErrors(e);
      let placed = false;
      for (const [f, line] of [['summary', summaryError], ['at', atError], ['follow_up_on', followUpError]]) {
        if (errs.has(f)) { line.set(errs.get(f)); placed = true; }
      }
      if (!placed || errs.size > [...errs.keys()].filter((f) => ['summary', 'at', 'follow_up_on'].includes(f)).length) msg.append(alertBox(errorText(e)));
    }
  };
  const form = h('form', {
    'data-testid': 'log-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const l of [summaryError, atError, followUpError]) l.set('');
      const body = { kind };
      if (contact.value) body.contact_id = Number(contact.value);
      if (summary.value.trim()) body.summary = summary.value.trim();
      for (const [k, el] of Object.entries(ctl)) if (el.value.trim()) body[k] = el.value.trim();
      if (at.value) {
        const when = new Date(at.value);
        if (Number.isNaN(when.getTime())) { atError.set(t('c.log.at.bad')); return; }
        if (when.getTime() > Date.now() + 60000) { atError.set(t('c.log.at.future')); at.focus(); return; }
        // Logged now: the server's clock says when; an earlier time is sent as it is.
        if (at.value !== now) body.at = when.toISOString();
      }
      if (followUp.value) {
        if (followUp.value < today()) { followUpError.set(t('c.log.follow.past')); followUp.focus(); return; }
        body.follow_up_on = followUp.value;
      }
      await send(body);
    },
  }, msg, h('fieldset', {}, h('legend', {}, t('c.log.kind')), kinds), extra,
  contacts.length ? field(t('c.log.contact'), contact) : null,
  h('div', {}, field(t('c.log.summary'), summary), summaryError),
  h('div', { class: 'form-grid log-when' },
    h('div', {}, field(t('c.log.at'), at), atError),
    h('div', {}, field(t('c.log.follow'), followUp, t('c.log.follow.hint')), followUpError)),
  h('div', { class: 'actions' }, save));
  const el = card(t('c.log'), form);
  el.classList.add('c-log');
  return el;
}

/** A pool customer on its page: claim it, where the role may. */
function claimBar(app, ctx) {
  const c = ctx.customer;
  if (c.owner_id !== null && c.owner_id !== undefined) return null;
  if (!app.scope('customer', 'update')) return null;
  return alertBox([t('c.claim.text'), ' ', h('button', {
    type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'customer-claim',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try { await api(`/customers/${c.id}/claim`, { method: 'POST' }); toast(t('day.pool.claimed', { name: c.name })); ctx.reload(); } catch (e) { ev.target.disabled = false; toast(errorText(e), 'error'); }
    },
  }, t('day.pool.claim'))], 'info');
}

/**
 * 退回公海: for an owned customer and a role that may change it (its own
 * manager, a supervisor, director or administrator); asks for a reason.
 */
function releaseButton(app, ctx) {
  const c = ctx.customer;
  const may = c.owner_id !== null && c.owner_id !== undefined && !c.deleted_at
      && (app.isSupervisor() || (app.user.role === 'manager' && c.owner_id === app.user.id));
  if (!may) return null;
  return h('button', {
    type: 'button', class: 'btn', 'data-testid': 'release-to-pool',
    onclick: async () => { if (await releaseToPool([{ id: c.id, name: c.name }])) await ctx.reload(); },
  }, t('pool.release.button'));
}

export async function customer(app, { id: cid }) {
  if (cid === 'new') return newCustomerPage(app);
  const root = h('div', { class: 'page' });
  const ctx = { customer: null };
  let data;
  ctx.reload = async () => {
    try {
      ctx.customer = await api(`/customers/${cid}`);
    } catch (e) {
      clear(root).append(h('h1', {}, t('cust.title')),
        alertBox(e.status === 403 ? t('c.denied') : e.status === 404 ? t('c.notfound') : errorText(e)));
      root.dataset.testid = e.status === 403 ? 'denied' : 'error';
      return;
    }
    const id = ctx.customer.id;
    const settle = (p) => p.then((r) => r.items).catch(() => []);
    const [contacts, activities, orders, history, completeness, defs, occasions] = await Promise.all([
      settle(api(`/customers/${id}/contacts`)), settle(api(`/customers/${id}/activities`)),
      settle(api(`/customers/${id}/orders`)), settle(api(`/customers/${id}/history`)),
      api(`/customers/${id}/completeness`).catch(() => null),
      api('/custom-fields').then((r) => r.fields || []).catch(() => []),
      api(`/customers/${id}/occasions?days=60`).catch(() => null),
    ]);
    data = { contacts, activities, orders, history, completeness, defs, occasions };
    customLabels = new Map(defs.map((d) => [d.key, d.label]));
    // The cards that read more of the API: the group's members, the open change reports.
    const c = ctx.customer;
    [data.members, data.changes] = c.deleted_at ? [null, null] : await Promise.all([membersCard(app, ctx), changesCard(app, ctx)]);
    ctx.rerender();
  };
  ctx.rerender = () => {
    const c = ctx.customer;
    document.title = `${c.name} · ${t('app.name')}`;
    const fileValues = { ...c };
    const badges = h('div', { class: 'badges' },
      c.class ? h('span', { class: 'badge' }, `${t('f.class')} ${c.class}`) : null,
      c.tier ? h('span', { class: 'badge' }, c.tier) : null,
      h('span', { class: 'badge' }, label('stage', c.stage)),
      c.key_customer ? h('span', { class: 'badge badge-warn' }, t('f.key_customer')) : null,
      h('span', { class: 'muted', 'data-testid': 'customer-owner' }, t('common.labelled', { label: t('c.owner'), value: app.userName(c.owner_id, c.owner_name) })),
      ...(c.tags || []).map((tg) => h('span', { class: 'tag' }, tg)));
    const missing = data.completeness && data.completeness.required && !data.completeness.complete
      ? alertBox(t('c.completeness', { fields: data.completeness.missing.map((m) => (getLang() === 'en' ? m.field : m.label_zh)).join('、') }), 'warn')
      : null;
    const head = h('div', { class: 'page-head' }, h('h1', { 'data-testid': 'customer-name' }, c.name), badges, releaseButton(app, ctx));
    if (c.deleted_at) {
      // A deleted file, as an administrator sees it: what it was, and the way back.
      clear(root).append(head,
        alertBox(t('c.deleted', { date: dateTime(c.deleted_at) }), 'warn'),
        h('div', { class: 'grid-360' },
          h('div', { class: 'col-main' }, adminCard(app, ctx), contactsCard(app, ctx, data.contacts)),
          h('div', { class: 'col-side' }, editableCard(app, ctx, t('c.file'), FILE_FIELDS, fileValues, (v) => v, 'file'))));
      root.dataset.testid = 'customer-deleted';
      return;
    }
    delete root.dataset.testid;
    const mayLog = app.can('activity', 'create', c);
    const mayOrder = app.can('order', 'create', c);
    clear(root).append(...[
      head,
      claimBar(app, ctx),
      missing,
      h('div', { class: 'grid-360' },
        h('div', { class: 'col-main' },
          mayLog ? logForm(app, ctx, data.contacts) : null,
          contactsCard(app, ctx, data.contacts),
          mayOrder ? orderCard(app, ctx) : null,
          ordersCard(app, ctx, data.orders),
          timelineCard(app, data.activities, data.orders, data.history, data.contacts)),
        h('div', { class: 'col-side' },
          editableCard(app, ctx, t('c.card'), CARD_FIELDS, c.card || {}, (v) => ({ card: { ...(c.card || {}), ...v } }), 'card'),
          data.occasions ? occasionsCard(data.occasions) : null,
          keyDatesCard(app, ctx),
          data.members,
          data.changes,
          data.defs.length ? customCard(app, ctx, data.defs) : null,
          valueCard(c, data.orders),
          editableCard(app, ctx, t('c.file'), FILE_FIELDS, fileValues, (v) => v, 'file'),
          adminCard(app, ctx)))].filter(Boolean));
  };
  await ctx.reload();
  return root;
}
