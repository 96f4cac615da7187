// The forms of the customer pages: a new customer (with its first contact),
// contacts (birthday solar or lunar, level, consent per channel), an order,
// key dates, a group's members, change reports (the 15-day rule), and the
// administrator's merge, delete and restore. Every button is shown only
// when the permission matrix allows its call (app.can).
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, toast, id, errorLine, fieldErrors } from './ui.js';
import { date, money, today, birthday, fen } from './format.js';

const KINDS = ['company', 'individual'];
const CTYPES = ['state_owned', 'private', 'foreign', 'institution', 'government', 'other'];
const SOURCES = ['referral', 'advertising', 'media', 'walk_in', 'other'];
const STAGES = ['to_identify', 'potential', 'opportunity', 'order_customer', 'user'];
const LEVELS = ['executor', 'person_in_charge', 'decision_maker'];
const BUYING = ['initiator', 'decider', 'designer', 'evaluator', 'user'];
const STYLES = ['analytical', 'expressive', 'amiable', 'driver'];
const CHANNELS = ['phone', 'sms', 'email', 'wechat'];
const UNITS = ['yuan', 'case', 'piece'];

/**
 * Controls with their error lines: `add(key, labelText, control, hint)`
 * keeps them by the API's field name, `show(e)` puts a 422's messages
 * beside their fields and answers the ones it could not place.
 */
function fieldSet() {
  const lines = new Map();
  return {
    add(key, text, control, hint) {
      const line = errorLine(control);
      line.control = control;
      lines.set(key, line);
      const el = field(text, control, hint);
      el.append(line);
      return el;
    },
    clear() { for (const l of lines.values()) l.set(''); },
    /** Places the field errors of `e`; true when every one found its field. */
    show(e) {
      const errs = fieldErrors(e);
      if (!errs.size) return false;
      let all = true;
      for (const [k, m] of errs) {
        const line = lines.get(k) || lines.get(k.replace(/^contacts\[0\]\./, 'contact.'));
        if (line) line.set(m); else all = false;
      }
      const first = [...lines.entries()].find(([k]) => errs.has(k) || errs.has(k.replace(/^contact\./, 'contacts[0].')));
      first?.[1].control.focus();
      return all;
    },
  };
}

const text = (el) => (el.value.trim() === '' ? null : el.value.trim());
const options = (prefix, values, blank = true) => [...(blank ? [['', '—']] : []), ...values.map((v) => [v, label(prefix, v)])];

// --- 新建客户 -------------------------------------------------------------

/** `#/customers/new`: a new customer with its first contact; a duplicate is shown, to open or merge into. */
export async function newCustomerPage(app) {
  const regions = await api('/regions').then((r) => r.items.map((x) => x.name)).catch(() => []);
  const fs = fieldSet();
  const msg = h('div', { 'aria-live': 'polite', 'data-testid': 'new-customer-msg' });
  const c = {
    name: h('input', { name: 'name', required: true, autocomplete: 'off', 'data-testid': 'new-name' }),
    kind: select(options('kind', KINDS, false), 'company', { name: 'kind' }),
    company_type: select(options('ctype', CTYPES), '', { name: 'company_type' }),
    industry: h('input', { name: 'industry' }),
    province: h('input', { name: 'province', list: 'new-regions' }),
    city: h('input', { name: 'city' }),
    address: h('input', { name: 'address' }),
    phone: h('input', { name: 'phone', type: 'tel', inputmode: 'tel' }),
    external_code: h('input', { name: 'external_code' }),
    source: select(options('source', SOURCES), '', { name: 'source' }),
    stage: select(options('stage', STAGES, false), 'potential', { name: 'stage' }),
    tags: h('input', { name: 'tags' }),
  };
  const k = {
    name: h('input', { name: 'contact_name', autocomplete: 'off', 'data-testid': 'new-contact-name' }),
    title: h('input', { name: 'contact_title' }),
    mobile: h('input', { name: 'contact_mobile', type: 'tel', inputmode: 'tel', 'data-testid': 'new-contact-mobile' }),
    level: select(options('level', LEVELS), '', { name: 'contact_level' }),
  };
  // Who owns it: oneself, or (a supervisor and above) a colleague in scope.
  const scope = app.scope('customer', 'create');
  const owners = [...app.users.values()].filter((u) => u.active !== false && ['manager', 'supervisor', 'director', 'admin'].includes(u.role));
  const owner = scope && scope !== 'own' && owners.length > 1
    ? select([...owners.map((u) => [u.id, u.display_name]), ['', t('common.pool')]], app.user.id, { name: 'owner_id' })
    : null;
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'new-save' }, t('nc.save'));
  const body = () => {
    const b = {};
    for (const [key, el] of Object.entries(c)) {
      const v = text(el);
      if (key === 'tags') { if (v) b.tags = v.split(/[,，、]/).map((s) => s.trim()).filter(Boolean); continue; }
      if (v !== null) b[key] = v;
    }
    if (owner) b.owner_id = owner.value === '' ? null : Number(owner.value);
    if (text(k.name)) {
      const contact = { name: text(k.name) };
      for (const key of ['title', 'mobile', 'level']) if (text(k[key])) contact[key] = text(k[key]);
      b.contacts = [contact];
    }
    return b;
  };
  const form = h('form', {
    class: 'card new-customer', 'data-testid': 'new-customer-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      fs.clear();
      if (!text(c.name)) { fs.show({ details: { fields: [{ field: 'name', message: t('nc.name.required') }] } }); return; }
      if (!text(k.name) && (text(k.mobile) || text(k.title))) {
        fs.show({ details: { fields: [{ field: 'contact.name', message: t('nc.contact.name.required') }] } });
        return;
      }
      save.disabled = true;
      const b = body();
      try {
        const made = await api('/customers', { method: 'POST', body: b });
        toast(t('nc.created', { name: made.name }));
        app.go(`#/customers/${made.id}`);
      } catch (e) {
        save.disabled = false;
        if (e.code === 'duplicate') { msg.append(await duplicateBox(app, e, b)); return; }
        if (!fs.show(e)) msg.append(alertBox(errorText(e)));
      }
    },
  },
  h('h2', {}, t('nc.file')),
  h('datalist', { id: 'new-regions' }, regions.map((r) => h('option', { value: r }))),
  h('div', { class: 'form-grid form-top' },
    fs.add('name', `${t('f.name')} *`, c.name),
    fs.add('kind', t('f.kind'), c.kind),
    fs.add('company_type', t('f.company_type'), c.company_type),
    fs.add('industry', t('f.industry'), c.industry),
    fs.add('province', t('f.province'), c.province),
    fs.add('city', t('f.city'), c.city),
    fs.add('address', t('f.address'), c.address),
    fs.add('phone', t('f.phone'), c.phone),
    fs.add('external_code', t('f.external_code'), c.external_code),
    fs.add('source', t('f.source'), c.source),
    fs.add('stage', t('f.stage'), c.stage),
    fs.add('tags', t('f.tags'), c.tags, t('c.tags.hint')),
    owner ? fs.add('owner_id', t('c.owner'), owner) : null),
  h('h2', {}, t('nc.contact')),
  h('p', { class: 'hint' }, t('nc.contact.hint')),
  h('div', { class: 'form-grid form-top' },
    fs.add('contact.name', t('ct.name'), k.name),
    fs.add('contact.title', t('f.title'), k.title),
    fs.add('contact.mobile', t('f.mobile'), k.mobile),
    fs.add('contact.level', t('f.level'), k.level)),
  msg,
  h('div', { class: 'actions' }, save, h('a', { class: 'btn', href: '#/customers' }, t('common.cancel'))));
  setTimeout(() => c.name.focus(), 0);
  return h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', {}, t('nc.title'))), form);
}

/**
 * The answer to a duplicate: each existing customer the user may read, to
 * open, or to merge what was typed into (its blank fields filled, the
 * contact added) where the role may merge; else only that one exists in
 * another team.
 */
async function duplicateBox(app, e, typed) {
  const ids = e.details?.duplicates || [];
  const box = h('div', { class: 'alert alert-warn', role: 'alert', 'data-testid': 'duplicate' },
    h('strong', {}, t('nc.dup.title')), ' ', ids.length ? t('nc.dup.text') : t('nc.dup.elsewhere'));
  if (!ids.length) return box;
  const found = await api(`/customers?ids=${ids.join(',')}`).then((r) => r.items).catch(() => []);
  const list = h('ul', { class: 'list' });
  for (const d of found) {
    const mayMerge = app.can('customer', 'update', d) && app.can('customer', 'delete', d);
    const mergeBtn = mayMerge ? h('button', {
      type: 'button', class: 'btn btn-small', 'data-testid': 'dup-merge',
      onclick: async () => {
        if (!window.confirm(t('nc.dup.merge.confirm', { name: d.name }))) return;
        mergeBtn.disabled = true;
        try {
          await mergeTyped(d, typed);
          toast(t('nc.dup.merged', { name: d.name }));
          app.go(`#/customers/${d.id}`);
        } catch (err) {
          mergeBtn.disabled = false;
          box.append(alertBox(errorText(err)));
        }
      },
    }, t('nc.dup.merge')) : null;
    list.append(h('li', { class: 'row' },
      h('span', {}, h('strong', {}, d.name), ' ', h('span', { class: 'muted' }, [d.city, d.phone, app.userName(d.owner_id, d.owner_name)].filter(Boolean).join(' · '))),
      h('span', { class: 'actions' },
        h('a', { class: 'btn btn-small', href: `#/customers/${d.id}`, 'data-testid': 'dup-open' }, t('common.open')), mergeBtn)));
  }
  box.append(list);
  return box;
}

/** Fills the existing customer's blank fields with what was typed, and adds the typed contact. */
async function mergeTyped(existing, typed) {
  const patch = {};
  for (const [k, v] of Object.entries(typed)) {
    if (k === 'contacts' || k === 'owner_id' || k === 'name') continue;
    if (k === 'tags') {
      const tags = [...new Set([...(existing.tags || []), ...v])];
      if (tags.length !== (existing.tags || []).length) patch.tags = tags;
    } else if (existing[k] === null || existing[k] === undefined || existing[k] === '') patch[k] = v;
  }
  if (Object.keys(patch).length) {
    await api(`/customers/${existing.id}`, { method: 'PATCH', body: { ...patch, version: existing.version } });
  }
  const contact = typed.contacts?.[0];
  if (contact) {
    const have = await api(`/customers/${existing.id}/contacts`).then((r) => r.items).catch(() => []);
    if (!have.some((x) => x.name === contact.name)) {
      await api(`/customers/${existing.id}/contacts`, { method: 'POST', body: contact });
    }
  }
}

// --- 联系人 ----------------------------------------------------------------

/** A birthday picker: solar or lunar, month and day, year optional, leap month (lunar). */
function birthdayControl(value) {
  let cal = 'solar'; let year = ''; let month = ''; let day = ''; let leap = false;
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '') || /^()(\d{2})-(\d{2})$/.exec(value || '');
  if (m) [, year, month, day] = m;
  m = /^农历(闰)?(?:(\d{4})-)?(\d{2})-(\d{2})$/.exec(value || '');
  if (m) { cal = 'lunar'; leap = !!m[1]; year = m[2] || ''; month = m[3]; day = m[4]; }
  const calSel = select([['solar', t('ct.bday.solar')], ['lunar', t('ct.bday.lunar')]], cal, { name: 'birthday_calendar', 'aria-label': t('ct.bday.calendar'), 'data-testid': 'bday-calendar' });
  const yearIn = h('input', { name: 'birthday_year', inputmode: 'numeric', pattern: '\\d{4}', placeholder: t('ct.bday.year.placeholder'), value: year, size: 6, 'aria-label': t('ct.bday.year') });
  const monthSel = select([['', t('ct.bday.month')], ...Array.from({ length: 12 }, (_, i) => [String(i + 1).padStart(2, '0'), String(i + 1)])], month, { name: 'birthday_month', 'aria-label': t('ct.bday.month'), 'data-testid': 'bday-month' });
  const daySel = select([['', t('ct.bday.day')], ...Array.from({ length: 31 }, (_, i) => [String(i + 1).padStart(2, '0'), String(i + 1)])], day, { name: 'birthday_day', 'aria-label': t('ct.bday.day'), 'data-testid': 'bday-day' });
  const leapBox = h('input', { type: 'checkbox', id: id(), checked: leap, name: 'birthday_leap' });
  const leapWrap = h('span', { class: 'field-check' }, leapBox, h('label', { for: leapBox.id }, t('ct.bday.leap')));
  const sync = () => { leapWrap.hidden = calSel.value !== 'lunar'; };
  calSel.addEventListener('change', sync);
  sync();
  const group = h('fieldset', { class: 'field field-wide bday' },
    h('legend', {}, t('ct.birthday')),
    h('div', { class: 'actions' }, calSel, yearIn, monthSel, daySel, leapWrap));
  return {
    el: group, control: calSel,
    read() {
      if (!monthSel.value || !daySel.value) return null;
      const y = yearIn.value.trim();
      const md = `${y ? `${y}-` : ''}${monthSel.value}-${daySel.value}`;
      return calSel.value === 'lunar' ? `农历${leapBox.checked ? '闰' : ''}${md}` : md;
    },
  };
}

/** The add / edit form of a contact; `done()` after a save. */
function contactForm(customerId, contact, done, cancel) {
  const v = contact || {};
  const fs = fieldSet();
  const msg = h('div', { 'aria-live': 'polite' });
  const c = {
    name: h('input', { name: 'name', required: true, value: v.name ?? '', 'data-testid': 'ct-name' }),
    title: h('input', { name: 'title', value: v.title ?? '' }),
    mobile: h('input', { name: 'mobile', type: 'tel', inputmode: 'tel', value: v.mobile ?? '', 'data-testid': 'ct-mobile' }),
    phone: h('input', { name: 'phone', type: 'tel', value: v.phone ?? '' }),
    email: h('input', { name: 'email', type: 'email', value: v.email ?? '' }),
    wechat: h('input', { name: 'wechat', value: v.wechat ?? '' }),
    qq: h('input', { name: 'qq', inputmode: 'numeric', value: v.qq ?? '' }),
    level: select(options('level', LEVELS), v.level ?? '', { name: 'level', 'data-testid': 'ct-level' }),
    buying_role: select(options('buying', BUYING), v.buying_role ?? '', { name: 'buying_role' }),
    style: select(options('style', STYLES), v.style ?? '', { name: 'style' }),
    hobbies: h('input', { name: 'hobbies', value: v.hobbies ?? '' }),
    notes: h('textarea', { name: 'notes', rows: 2 }, v.notes ?? ''),
  };
  const bday = birthdayControl(v.birthday);
  const bdayError = errorLine(bday.control);
  bday.el.append(bdayError);
  const consent = v.consent || { phone: true, sms: true, email: false, wechat: true };
  const boxes = Object.fromEntries(CHANNELS.map((ch) => [ch, h('input', { type: 'checkbox', id: id(), checked: !!consent[ch], name: `consent_${ch}`, 'data-testid': `ct-consent-${ch}` })]));
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'ct-save' }, t('common.save'));
  const form = h('form', {
    class: 'form-grid form-top contact-form', 'data-testid': 'contact-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      fs.clear();
      bdayError.set('');
      const body = {};
      for (const [k, el] of Object.entries(c)) body[k] = text(el);
      if (!body.name) { fs.show({ details: { fields: [{ field: 'name', message: t('ct.name.required') }] } }); return; }
      body.birthday = bday.read();
      body.consent = Object.fromEntries(CHANNELS.map((ch) => [ch, boxes[ch].checked]));
      save.disabled = true;
      try {
        if (contact) {
          await api(`/contacts/${contact.id}`, { method: 'PATCH', body: { ...body, version: contact.version } });
        } else {
          for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
          await api(`/customers/${customerId}/contacts`, { method: 'POST', body });
        }
        toast(t('common.saved'));
        done();
      } catch (e) {
        save.disabled = false;
        const errs = fieldErrors(e);
        if (errs.has('birthday')) bdayError.set(errs.get('birthday'));
        if (!fs.show(e) && !errs.has('birthday')) {
          const box = alertBox(errorText(e));
          if (e.code === 'version_conflict') box.append(' ', h('button', { type: 'button', class: 'btn btn-small', onclick: done }, t('c.conflict.reload')));
          msg.append(box);
        }
      }
    },
  },
  fs.add('name', `${t('ct.name')} *`, c.name),
  fs.add('title', t('f.title'), c.title),
  fs.add('mobile', t('f.mobile'), c.mobile),
  fs.add('phone', t('f.phone'), c.phone),
  fs.add('email', t('f.email'), c.email),
  fs.add('wechat', t('f.wechat'), c.wechat),
  fs.add('qq', 'QQ', c.qq),
  fs.add('level', t('f.level'), c.level),
  fs.add('buying_role', t('ct.buying_role'), c.buying_role),
  fs.add('style', t('ct.style'), c.style),
  bday.el,
  fs.add('hobbies', t('f.interests'), c.hobbies),
  h('fieldset', { class: 'field field-wide' }, h('legend', {}, t('ct.consent')),
    h('div', { class: 'chips' }, CHANNELS.map((ch) => h('span', { class: 'field-check' }, boxes[ch], h('label', { for: boxes[ch].id }, t(`ct.consent.${ch}`)))))),
  h('div', { class: 'field-wide' }, fs.add('notes', t('ct.notes'), c.notes)),
  msg,
  h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: cancel }, t('common.cancel'))));
  setTimeout(() => c.name.focus(), 0);
  return form;
}

/** Contacts, with add, edit and delete where the role may. */
export function contactsCard(app, ctx, contacts) {
  const c = ctx.customer;
  const live = !c.deleted_at;
  const mayAdd = live && app.can('contact', 'create', c);
  const mayEdit = live && app.can('contact', 'update', c);
  const mayDelete = live && app.can('contact', 'delete', c);
  const body = h('div', {});
  const addBtn = mayAdd ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-add', onclick: () => edit(null, body) }, t('ct.add')) : null;
  const edit = (k, where) => {
    if (addBtn) addBtn.hidden = true;
    const form = contactForm(c.id, k, () => ctx.reload(), () => ctx.rerender());
    if (where === body) body.prepend(form); else where.replaceChildren(form);
  };
  const item = (k) => {
    const li = h('li', { 'data-testid': `contact-${k.id}` },
      h('div', { class: 'row' },
        h('span', {}, h('strong', {}, k.name), k.title ? ` · ${k.title}` : '', k.level ? h('span', { class: 'badge' }, label('level', k.level)) : null),
        h('span', { class: 'actions' },
          mayEdit ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'contact-edit', 'aria-label': `${t('common.edit')} ${k.name}`, onclick: () => edit(k, li) }, t('common.edit')) : null,
          mayDelete ? h('button', {
            type: 'button', class: 'btn btn-small', 'data-testid': 'contact-delete', 'aria-label': `${t('ct.delete')} ${k.name}`,
            onclick: async (ev) => {
              if (!window.confirm(t('ct.delete.confirm', { name: k.name }))) return;
              ev.target.disabled = true;
              try {
                await api(`/contacts/${k.id}`, { method: 'DELETE' });
                toast(t('ct.deleted', { name: k.name }));
                ctx.reload();
              } catch (e) { ev.target.disabled = false; toast(errorText(e), 'error'); }
            },
          }, t('ct.delete')) : null)),
      h('div', { class: 'muted' }, [k.mobile, k.phone, k.email, k.wechat && `${t('f.wechat')} ${k.wechat}`].filter(Boolean).join(' · ')),
      k.birthday ? h('div', { 'data-testid': 'contact-birthday' }, t('c.birthday', { date: birthday(k.birthday) })) : null,
      k.hobbies ? h('div', { class: 'muted' }, t('common.labelled', { label: t('f.interests'), value: k.hobbies })) : null,
      h('div', { class: 'hint' }, t('ct.consent.short', {
        list: CHANNELS.filter((ch) => k.consent?.[ch]).map((ch) => t(`ct.consent.${ch}`)).join('、') || t('common.none'),
      })));
    return li;
  };
  body.append(contacts.length ? h('ul', { class: 'list' }, contacts.map(item)) : h('p', { class: 'muted' }, t('c.contacts.none')));
  const el = card(t('c.contacts'), body);
  el.dataset.testid = 'contacts';
  el.classList.add('c-contacts');
  if (addBtn) el.querySelector('h2').append(addBtn);
  return el;
}

// --- 订单 -----------------------------------------------------------------

/** Records an order (POST /orders) where the role may. */
export function orderCard(app, ctx) {
  const fs = fieldSet();
  const msg = h('div', { 'aria-live': 'polite' });
  const c = {
    date: h('input', { name: 'date', type: 'date', value: today(), max: today(), required: true, 'data-testid': 'order-date' }),
    amount: h('input', { name: 'amount', inputmode: 'decimal', placeholder: '1234.50', required: true, 'data-testid': 'order-amount' }),
    quantity: h('input', { name: 'quantity', type: 'number', min: '1', step: '1', inputmode: 'numeric', 'data-testid': 'order-quantity' }),
    unit: select(options('unit', UNITS), '', { name: 'unit', 'data-testid': 'order-unit' }),
    product: h('input', { name: 'product', 'data-testid': 'order-product' }),
    channel: h('input', { name: 'channel' }),
  };
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'order-save' }, t('od.save'));
  const form = h('form', {
    class: 'form-grid form-top', 'data-testid': 'order-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      fs.clear();
      const body = { customer_id: ctx.customer.id };
      for (const [k, el] of Object.entries(c)) if (text(el) !== null) body[k] = k === 'quantity' ? Number(text(el)) : text(el);
      save.disabled = true;
      try {
        const o = await api('/orders', { method: 'POST', body });
        toast(t('od.saved', { amount: money(o.amount) }));
        ctx.reload();
      } catch (e) {
        save.disabled = false;
        if (!fs.show(e)) msg.append(alertBox(errorText(e)));
      }
    },
  },
  fs.add('date', `${t('od.date')} *`, c.date),
  fs.add('amount', `${t('od.amount')} *`, c.amount),
  fs.add('quantity', t('od.quantity'), c.quantity),
  fs.add('unit', t('od.unit'), c.unit),
  fs.add('product', t('od.product'), c.product),
  fs.add('channel', t('od.channel'), c.channel),
  msg,
  h('div', { class: 'actions' }, save));
  const el = card(t('od.title'), form);
  el.dataset.testid = 'order-card';
  return el;
}

// --- 订单与回款 (issue 26) ---------------------------------------------------

/**
 * The customer's orders, each with its unit, what was paid and what is
 * still owed, and its payments (回款); with Order update: a form to edit an
 * order (sending the version read), to record a payment, and a button to
 * mark a payment paid today. A 422's words stand beside their field.
 */
export function ordersCard(app, ctx, orders) {
  const mayEdit = app.can('order', 'update', ctx.customer);
  const body = h('div', {});
  const list = h('ul', { class: 'list orders-list', 'data-testid': 'orders-list' });
  const openForm = (li, form) => {
    for (const f of list.querySelectorAll('form')) f.remove();
    li.append(form);
    form.querySelector('input')?.focus();
  };
  for (const o of orders) {
    const qty = o.unit ? t('od.qty', { n: o.quantity, unit: label('unit', o.unit) }) : (o.quantity > 1 ? `×${o.quantity}` : null);
    const pays = h('ul', { class: 'list pay-list', 'data-testid': `payments-${o.id}` }, (o.payments || []).map((p) => h('li', { 'data-testid': `payment-${p.id}` },
      h('span', {}, money(p.amount)),
      h('span', { class: 'muted' }, p.due_date ? t('pay.due', { date: date(p.due_date) }) : ''),
      p.paid_date
        ? h('span', { class: 'badge' }, t('pay.paid_on', { date: date(p.paid_date) }))
        : h('span', { class: 'badge badge-warn' }, t('pay.unpaid')),
      mayEdit && !p.paid_date ? h('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': `payment-mark-${p.id}`,
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api(`/payments/${p.id}`, { method: 'PATCH', body: { version: p.version, paid_date: today() } });
            toast(t('pay.marked'));
            ctx.reload();
          } catch (e) {
            ev.target.disabled = false;
            toast(errorText(e), 'error');
          }
        },
      }, t('pay.mark')) : null)));
    const li = h('li', { class: 'order-row', 'data-testid': `order-row-${o.id}` },
      h('div', { class: 'order-head' },
        h('strong', {}, money(o.amount)),
        h('span', { class: 'muted' }, date(o.ordered_at)),
        h('span', {}, [o.product, qty, o.channel].filter(Boolean).join(' · '))),
      h('div', { class: 'order-figures' },
        h('span', { 'data-testid': `order-paid-${o.id}` }, t('pay.paid', { amount: money(o.paid) })),
        h('span', { 'data-testid': `order-outstanding-${o.id}`, class: fen(o.outstanding) > 0n ? 'warn-text' : 'muted' }, t('pay.outstanding', { amount: money(o.outstanding) })),
        mayEdit ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': `order-edit-${o.id}`, onclick: () => openForm(li, orderEditForm(ctx, o)) }, t('common.edit')) : null,
        mayEdit && fen(o.unscheduled) > 0n ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': `payment-add-${o.id}`, onclick: () => openForm(li, paymentForm(ctx, o)) }, t('pay.add')) : null),
      o.payments?.length ? pays : null);
    list.append(li);
  }
  body.append(orders.length ? list : h('p', { class: 'muted' }, t('pay.none')));
  const el = card(t('pay.title'), body);
  el.dataset.testid = 'orders-card';
  return el;
}

/** Editing an order: its fields as read, sent with its version. */
function orderEditForm(ctx, o) {
  const fs = fieldSet();
  const msg = h('div', { 'aria-live': 'polite' });
  const c = {
    date: h('input', { name: 'date', type: 'date', value: String(o.ordered_at).slice(0, 10), max: today(), required: true, 'data-testid': 'order-edit-date' }),
    amount: h('input', { name: 'amount', inputmode: 'decimal', value: o.amount, required: true, 'data-testid': 'order-edit-amount' }),
    quantity: h('input', { name: 'quantity', type: 'number', min: '1', step: '1', value: o.quantity, 'data-testid': 'order-edit-quantity' }),
    unit: select(options('unit', UNITS), o.unit ?? '', { name: 'unit', 'data-testid': 'order-edit-unit' }),
    product: h('input', { name: 'product', value: o.product ?? '' }),
    channel: h('input', { name: 'channel', value: o.channel ?? '' }),
  };
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'order-edit-save' }, t('common.save'));
  return h('form', {
    class: 'form-grid form-top', 'data-testid': 'order-edit-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      fs.clear();
      const body = { version: o.version };
      for (const [k, el] of Object.entries(c)) body[k] = text(el) === null ? null : (k === 'quantity' ? Number(text(el)) : text(el));
      if (body.date === null) delete body.date;
      if (body.amount === null) delete body.amount;
      if (body.quantity === null) delete body.quantity;
      save.disabled = true;
      try {
        await api(`/orders/${o.id}`, { method: 'PATCH', body });
        toast(t('od.updated'));
        ctx.reload();
      } catch (e) {
        save.disabled = false;
        if (e.status === 409) msg.append(alertBox(t('od.stale')));
        else if (!fs.show(e)) msg.append(alertBox(errorText(e)));
      }
    },
  },
  fs.add('date', `${t('od.date')} *`, c.date),
  fs.add('amount', `${t('od.amount')} *`, c.amount),
  fs.add('quantity', t('od.quantity'), c.quantity),
  fs.add('unit', t('od.unit'), c.unit),
  fs.add('product', t('od.product'), c.product),
  fs.add('channel', t('od.channel'), c.channel),
  msg,
  h('div', { class: 'actions' }, save));
}

/** Recording a payment of an order: paid (a day not after today) or due. */
function paymentForm(ctx, o) {
  const fs = fieldSet();
  const msg = h('div', { 'aria-live': 'polite' });
  const c = {
    amount: h('input', { name: 'amount', inputmode: 'decimal', value: o.unscheduled, required: true, 'data-testid': 'payment-amount' }),
    due_date: h('input', { name: 'due_date', type: 'date', 'data-testid': 'payment-due' }),
    paid_date: h('input', { name: 'paid_date', type: 'date', value: today(), max: today(), 'data-testid': 'payment-paid' }),
  };
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'payment-save' }, t('pay.save'));
  return h('form', {
    class: 'form-grid form-top', 'data-testid': 'payment-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      fs.clear();
      const body = {};
      for (const [k, el] of Object.entries(c)) if (text(el) !== null) body[k] = text(el);
      save.disabled = true;
      try {
        const p = await api(`/orders/${o.id}/payments`, { method: 'POST', body });
        toast(t('pay.saved', { amount: money(p.amount) }));
        ctx.reload();
      } catch (e) {
        save.disabled = false;
        if (!fs.show(e)) msg.append(alertBox(errorText(e)));
      }
    },
  },
  fs.add('amount', `${t('pay.amount')} *`, c.amount, t('pay.owed', { amount: money(o.unscheduled) })),
  fs.add('due_date', t('pay.due_date'), c.due_date),
  fs.add('paid_date', t('pay.paid_date'), c.paid_date, t('pay.paid_hint')),
  msg,
  h('div', { class: 'actions' }, save));
}

// --- 重要日期 ---------------------------------------------------------------

/** The company's key dates (founding day, anniversaries…), edited in place. */
export function keyDatesCard(app, ctx) {
  const c = ctx.customer;
  const dates = c.key_dates || [];
  const body = h('div', {});
  const msg = h('div', { 'aria-live': 'polite' });
  const editBtn = app.can('customer', 'update', c)
    ? h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'keydates-edit', onclick: () => edit() }, t('common.edit')) : null;
  const view = () => {
    if (editBtn) editBtn.hidden = false;
    clear(body).append(dates.length
      ? h('ul', { class: 'list occ-list' }, dates.map((d) => h('li', {},
        h('span', { class: 'occ-date' }, d.lunar ? t('kd.lunar.date', { m: Number(d.date.slice(5, 7)), d: Number(d.date.slice(8, 10)) }) : date(d.date)),
        h('span', {}, d.name))))
      : h('p', { class: 'muted' }, t('kd.none')));
  };
  const edit = () => {
    editBtn.hidden = true;
    const rows = h('ul', { class: 'list' });
    const addRow = (d = {}) => {
      const name = h('input', { name: 'kd_name', value: d.name ?? '', 'aria-label': t('kd.name'), placeholder: t('kd.name') });
      const day = h('input', { name: 'kd_date', type: 'date', value: d.date ?? '', 'aria-label': t('kd.date') });
      const lunar = h('input', { type: 'checkbox', id: id(), checked: !!d.lunar });
      const li = h('li', { class: 'actions kd-row' }, name, day,
        h('span', { class: 'field-check' }, lunar, h('label', { for: lunar.id }, t('kd.lunar'))),
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => li.remove() }, t('kd.remove')));
      li.read = () => ({ name: name.value.trim(), date: day.value, lunar: lunar.checked });
      rows.append(li);
      return name;
    };
    dates.forEach((d) => addRow(d));
    const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'keydates-save' }, t('common.save'));
    const form = h('form', {
      'data-testid': 'keydates-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        const key_dates = [...rows.children].map((li) => li.read()).filter((d) => d.name || d.date);
        save.disabled = true;
        try {
          await api(`/customers/${c.id}`, { method: 'PATCH', body: { key_dates, version: c.version } });
          toast(t('common.saved'));
          ctx.reload();
        } catch (e) { save.disabled = false; msg.append(alertBox(errorText(e))); }
      },
    }, h('p', { class: 'hint' }, t('kd.hint')), rows,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'keydates-add', onclick: () => addRow().focus() }, t('kd.add')),
      save, h('button', { type: 'button', class: 'btn', onclick: () => { clear(msg); view(); } }, t('common.cancel'))));
    clear(body).append(form);
    if (!dates.length) addRow().focus();
  };
  view();
  const el = card(t('f.key_dates'), msg, body);
  el.dataset.testid = 'keydates';
  if (editBtn) el.querySelector('h2').append(editBtn);
  return el;
}

// --- 集团成员 ---------------------------------------------------------------

/** A picker of one customer by name (those the user may read): resolves to {id, name, version, …}. */
function customerPicker(placeholder, onPick, exclude = []) {
  const input = h('input', { type: 'search', autocomplete: 'off', placeholder, 'aria-label': placeholder, 'data-testid': 'picker' });
  const list = h('ul', { class: 'list picker-list' });
  let timer; let seq = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { clear(list); return; }
    timer = setTimeout(async () => {
      const mine = ++seq;
      const r = await api(`/customers?per_page=8&q=${encodeURIComponent(q)}`).catch(() => ({ items: [] }));
      if (mine !== seq) return;
      clear(list).append(...r.items.filter((x) => !exclude.includes(x.id)).map((x) => h('li', { class: 'row' },
        h('span', {}, x.name, ' ', h('span', { class: 'muted' }, [x.city, x.owner_name].filter(Boolean).join(' · '))),
        h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'picker-choose', onclick: () => onPick(x) }, t('pick.choose')))));
      if (!list.children.length) list.append(h('li', { class: 'muted' }, t('search.none')));
    }, 200);
  });
  return h('div', { class: 'picker' }, input, list);
}

/** A group customer's parent and members; members are added and removed here. */
export async function membersCard(app, ctx) {
  const c = ctx.customer;
  // A person is not a group: no card, unless the file says it belongs to one.
  if (c.kind === 'individual' && !c.parent_id) return null;
  const [members, parent] = await Promise.all([
    api(`/customers?parent=${c.id}&per_page=200&sort=name`).then((r) => r.items).catch(() => []),
    c.parent_id ? api(`/customers?ids=${c.parent_id}`).then((r) => r.items[0] || null).catch(() => null) : null,
  ]);
  const mayEdit = app.can('customer', 'update', c);
  const msg = h('div', { 'aria-live': 'polite' });
  const setParent = async (member, parentId) => {
    clear(msg);
    try {
      await api(`/customers/${member.id}`, { method: 'PATCH', body: { parent_id: parentId, version: member.version } });
      toast(t('common.saved'));
      ctx.reload();
    } catch (e) { msg.append(alertBox(errorText(e))); }
  };
  const body = h('div', {},
    c.parent_id ? h('p', { 'data-testid': 'group-parent' }, t('grp.parent'), ' ',
      parent ? h('a', { href: `#/customers/${parent.id}` }, parent.name) : `#${c.parent_id}`) : null,
    members.length
      ? h('ul', { class: 'list', 'data-testid': 'group-members' }, members.map((m) => h('li', { class: 'row' },
        h('span', {}, h('a', { href: `#/customers/${m.id}` }, m.name), ' ', h('span', { class: 'muted' }, [m.city, m.owner_name].filter(Boolean).join(' · '))),
        mayEdit && app.can('customer', 'update', m)
          ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => { if (window.confirm(t('grp.remove.confirm', { name: m.name }))) setParent(m, null); } }, t('grp.remove'))
          : null)))
      : h('p', { class: 'muted' }, t('grp.none')),
    msg);
  if (mayEdit && !c.parent_id) {
    body.append(h('details', { class: 'grp-add' }, h('summary', {}, t('grp.add')),
      customerPicker(t('grp.add.placeholder'), (m) => {
        if (!app.can('customer', 'update', m)) { msg.append(alertBox(t('err.forbidden'))); return; }
        setParent(m, c.id);
      }, [c.id, ...members.map((m) => m.id)])));
  }
  const el = card(t('grp.title'), body);
  el.dataset.testid = 'group';
  return el;
}

// --- 变更报告（15 天） -------------------------------------------------------

/** Report a change of the customer's data; open reports with their 15-day deadline, to mark registered. */
export async function changesCard(app, ctx) {
  const c = ctx.customer;
  const open = await api('/changes').then((r) => r.items.filter((x) => x.customer_id === c.id)).catch(() => []);
  const may = app.can('customer', 'update', c);
  const msg = h('div', { 'aria-live': 'polite' });
  const deadline = (r) => {
    const d = new Date(`${r.reported_on}T00:00:00`);
    d.setDate(d.getDate() + 15);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  };
  const list = open.length
    ? h('ul', { class: 'list', 'data-testid': 'changes' }, open.map((r) => h('li', { 'data-overdue': String(!!r.overdue) },
      h('div', { class: 'row' },
        h('span', {}, r.note),
        may ? h('button', {
          type: 'button', class: 'btn btn-small', 'data-testid': 'change-register',
          onclick: async (ev) => {
            ev.target.disabled = true;
            try { await api(`/changes/${r.id}/register`, { method: 'POST', body: {} }); toast(t('chg.registered')); ctx.reload(); } catch (e) { ev.target.disabled = false; msg.append(alertBox(errorText(e))); }
          },
        }, t('chg.register')) : null),
      h('div', { class: r.overdue ? 'field-error' : 'hint' },
        t(r.overdue ? 'chg.overdue' : 'chg.due', { reported: date(r.reported_on), due: date(deadline(r)) })))))
    : h('p', { class: 'muted' }, t('chg.none'));
  const body = h('div', {}, h('p', { class: 'hint' }, t('chg.rule')), list, msg);
  if (may) {
    const fs = fieldSet();
    const note = h('textarea', { name: 'note', rows: 2, 'data-testid': 'change-note' });
    const on = h('input', { name: 'reported_on', type: 'date', value: today(), max: today() });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'change-save' }, t('chg.save'));
    body.append(h('details', { class: 'chg-add' }, h('summary', { 'data-testid': 'change-open' }, t('chg.add')),
      h('form', {
        class: 'form-grid form-top', 'data-testid': 'change-form',
        onsubmit: async (ev) => {
          ev.preventDefault();
          clear(msg);
          fs.clear();
          if (!note.value.trim()) { fs.show({ details: { fields: [{ field: 'note', message: t('chg.note.required') }] } }); return; }
          save.disabled = true;
          try {
            await api(`/customers/${c.id}/changes`, { method: 'POST', body: { note: note.value.trim(), reported_on: on.value || undefined } });
            toast(t('chg.saved'));
            ctx.reload();
          } catch (e) { save.disabled = false; if (!fs.show(e)) msg.append(alertBox(errorText(e))); }
        },
      }, h('div', { class: 'field-wide' }, fs.add('note', t('chg.note'), note)), fs.add('reported_on', t('chg.on'), on), h('div', { class: 'actions' }, save))));
  }
  const el = card(t('chg.title'), body);
  el.dataset.testid = 'changes-card';
  return el;
}

// --- 合并、删除、恢复 ---------------------------------------------------------

/** Merge another customer into this one, delete it, or restore it: only where the role may. */
export function adminCard(app, ctx) {
  const c = ctx.customer;
  const msg = h('div', { 'aria-live': 'polite' });
  const parts = [];
  if (c.deleted_at) {
    if (app.scope('customer', 'delete') === 'all') {
      parts.push(h('button', {
        type: 'button', class: 'btn btn-primary', 'data-testid': 'customer-restore',
        onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api(`/customers/${c.id}/restore`, { method: 'POST' }); toast(t('adm.c.restored', { name: c.name })); ctx.reload(); } catch (e) { ev.target.disabled = false; msg.append(alertBox(errorText(e))); }
        },
      }, t('adm.c.restore')));
    }
  } else {
    if (app.can('customer', 'update', c) && app.scope('customer', 'delete')) {
      parts.push(h('details', {}, h('summary', { 'data-testid': 'merge-open' }, t('adm.c.merge')),
        h('p', { class: 'hint' }, t('adm.c.merge.hint', { name: c.name })),
        customerPicker(t('adm.c.merge.placeholder'), async (other) => {
          clear(msg);
          if (!app.can('customer', 'delete', other)) { msg.append(alertBox(t('err.forbidden'))); return; }
          if (!window.confirm(t('adm.c.merge.confirm', { other: other.name, name: c.name }))) return;
          try {
            await api(`/customers/${c.id}/merge`, { method: 'POST', body: { other_id: other.id } });
            toast(t('adm.c.merged', { other: other.name }));
            ctx.reload();
          } catch (e) { msg.append(alertBox(errorText(e))); }
        }, [c.id])));
    }
    if (app.can('customer', 'delete', c)) {
      parts.push(h('button', {
        type: 'button', class: 'btn btn-danger', 'data-testid': 'customer-delete',
        onclick: async (ev) => {
          if (!window.confirm(t('adm.c.delete.confirm', { name: c.name }))) return;
          ev.target.disabled = true;
          try {
            await api(`/customers/${c.id}`, { method: 'DELETE' });
            toast(t('adm.c.deleted', { name: c.name }));
            // Only an administrator still sees a deleted file (to restore it).
            if (app.scope('customer', 'delete') === 'all') ctx.reload(); else app.go('#/customers');
          } catch (e) { ev.target.disabled = false; msg.append(alertBox(errorText(e))); }
        },
      }, t('adm.c.delete')));
    }
  }
  if (!parts.length) return null;
  const el = card(t('adm.c.title'), msg, h('div', { class: 'admin-actions' }, parts));
  el.dataset.testid = 'customer-admin';
  return el;
}
