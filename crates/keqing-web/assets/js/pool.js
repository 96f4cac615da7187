// 公海: the dialogs that hand customers over or release them to the pool
// (each asks for a reason and a confirmation), and the pool's rules on the
// administration page (days before release, per class; the claim limit).
import { api } from './api.js';
import { t } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, checkedField, fieldErrors } from './ui.js';

/**
 * A modal dialog: `title`, `body` (nodes), and a confirm button; resolves to
 * what `onConfirm` answers (it runs on confirm and may throw: the error
 * shows in the dialog, which stays open), or null when cancelled.
 */
export function modal({ title, body, confirmText, onConfirm, testid }) {
  return new Promise((resolve) => {
    const msg = h('div', { 'aria-live': 'polite' });
    const ok = h('button', { type: 'submit', class: 'btn btn-primary' }, confirmText);
    const dlg = h('dialog', { class: 'modal', 'aria-labelledby': 'modal-title', 'data-testid': testid || 'modal' });
    const close = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    const form = h('form', {
      method: 'dialog',
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        ok.disabled = true;
        try {
          close(await onConfirm());
        } catch (e) {
          if (e && e.handled) { ok.disabled = false; return; }
          msg.append(alertBox(errorText(e)));
          ok.disabled = false;
        }
      },
    },
    h('h2', { id: 'modal-title' }, title),
    ...body,
    msg,
    h('div', { class: 'actions modal-actions' },
      ok,
      h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, t('common.cancel'))));
    dlg.addEventListener('cancel', (ev) => { ev.preventDefault(); close(null); });
    dlg.append(form);
    document.body.append(dlg);
    dlg.showModal();
    (dlg.querySelector('textarea, input, select') || ok).focus();
  });
}

/** A required reason: a textarea whose error line says when it is empty. */
function reasonField(labelText) {
  const f = checkedField(labelText, h('textarea', { rows: 2, maxlength: 200, required: true, 'data-testid': 'reason', oninput: () => f.error.set('') }));
  f.value = () => {
    const v = f.control.value.trim();
    f.error.set(v ? '' : t('pool.reason.required'));
    if (!v) { f.control.focus(); throw Object.assign(new Error('reason'), { handled: true }); }
    return v;
  };
  f.serverError = (e) => {
    const m = fieldErrors(e).get('reason');
    if (m) { f.error.set(m); throw Object.assign(new Error('reason'), { handled: true }); }
    throw e;
  };
  return f;
}

/**
 * Asks for a reason and a confirmation, then releases `customers` ([{id,
 * name}]) to the pool; resolves to the ids released, or null when cancelled.
 */
export async function releaseToPool(customers) {
  const reason = reasonField(t('pool.release.reason'));
  const names = customers.length === 1
    ? t('pool.release.one', { name: customers[0].name })
    : t('pool.release.many', { n: customers.length });
  const r = await modal({
    title: t('pool.release.title'),
    testid: 'release-dialog',
    body: [h('p', {}, names), h('p', { class: 'muted' }, t('pool.release.note')), reason.el],
    confirmText: t('pool.release.confirm'),
    onConfirm: async () => {
      const why = reason.value();
      try {
        return await api('/customers/release', { method: 'POST', body: { ids: customers.map((c) => c.id), reason: why } });
      } catch (e) { return reason.serverError(e); }
    },
  });
  if (!r) return null;
  toast(t('pool.release.done', { n: r.released.length }));
  return r.released;
}

/**
 * Confirms a transfer of `n` customers to `toName` for `why`, then makes it;
 * resolves to the number transferred, or null when cancelled.
 */
export async function confirmTransfer({ ids, to, toName, why }) {
  const r = await modal({
    title: t('pool.transfer.title'),
    testid: 'transfer-dialog',
    body: [
      h('p', {}, t('pool.transfer.ask', { n: ids.length, name: toName })),
      h('p', { class: 'muted' }, t('common.labelled', { label: t('cust.transfer.reason'), value: why })),
    ],
    confirmText: t('pool.transfer.confirm'),
    onConfirm: () => api('/customers/transfer', { method: 'POST', body: { ids, to_user: to, reason: why } }),
  });
  return r ? r.transferred : null;
}

// The pool's rules on the administration page ---------------------------------------

const CLASSES = ['A', 'B', 'C', 'D'];

/** The rules as a form: administrators change them, everyone else reads them. */
export async function poolTab(app) {
  const rules = await api('/pool/rules');
  const editable = app.isAdmin();
  const number = (value, attrs) => h('input', { type: 'number', inputmode: 'numeric', step: '1', min: '1', value: value ?? '', ...attrs });
  const def = checkedField(t('pool.rules.default'), number(rules.default_days, { required: true, max: '3650', 'data-testid': 'pool-default-days' }), t('pool.rules.default.hint'));
  const byClass = CLASSES.map((c) => ({
    c,
    f: checkedField(t('pool.rules.class', { c }), number(rules.days_by_class?.[c], { max: '3650', placeholder: String(rules.default_days), 'data-testid': `pool-days-${c}` })),
  }));
  const max = checkedField(t('pool.rules.max'), number(rules.max_owned, { required: true, max: '1000000', 'data-testid': 'pool-max-owned' }), t('pool.rules.max.hint'));
  const msg = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
  const summary = h('p', { class: 'muted', 'data-testid': 'pool-rules-summary' });
  const describe = (r) => {
    const classes = Object.entries(r.days_by_class || {}).map(([c, d]) => t('pool.rules.summary.class', { c, d })).join('，');
    summary.textContent = t('pool.rules.summary', { d: r.default_days, n: r.max_owned }) + (classes ? `；${classes}` : '');
  };
  describe(rules);
  // The server's words beside each field, not the browser's.
  const form = h('form', {
    novalidate: true,
    'data-testid': 'pool-rules',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const f of [def, max, ...byClass.map((x) => x.f)]) f.error.set('');
      const days = {};
      for (const { c, f } of byClass) if (f.control.value.trim()) days[c] = Number(f.control.value);
      const body = { default_days: Number(def.control.value), days_by_class: days, max_owned: Number(max.control.value) };
      save.disabled = true;
      try {
        describe(await api('/pool/rules', { method: 'PUT', body }));
        toast(t('pool.rules.saved'));
      } catch (e) {
        const errs = fieldErrors(e);
        let shown = false;
        for (const [k, f] of [['default_days', def], ['max_owned', max], ...byClass.map(({ c, f: x }) => [`days_by_class.${c}`, x])]) {
          if (errs.get(k)) { f.error.set(errs.get(k)); shown = true; }
        }
        if (!shown) msg.append(alertBox(errorText(e)));
      } finally {
        save.disabled = false;
      }
    },
  },
  h('fieldset', { disabled: !editable, class: 'form-grid plain' }, def.el, ...byClass.map((x) => x.f.el), max.el),
  msg,
  editable ? h('div', { class: 'actions' }, save) : null);
  return card(t('pool.rules.title'), h('p', { class: 'muted' }, t('pool.rules.intro')), summary,
    editable ? null : alertBox(t('adm.readonly'), 'info'), form);
}
