// 我的账户 (#/account): who is logged in, and a change of one's own password
// (POST /auth/password). Every role has it, from the header's account menu.
// The server checks the current password and the policy; its word on a
// field appears under that field. The user's other sessions end; this one
// goes on.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, card, alertBox, errorText, toast, checkedField, fieldErrors } from './ui.js';

export async function account(app) {
  const u = app.user;
  const input = (autocomplete, testid) => h('input', {
    type: 'password', required: true, autocomplete, maxlength: 1024, 'data-testid': testid,
  });
  const current = checkedField(t('acct.current'), input('current-password', 'pw-current'));
  const next = checkedField(t('acct.new'), input('new-password', 'pw-new'), t('acct.hint'));
  const again = checkedField(t('acct.repeat'), input('new-password', 'pw-repeat'));
  next.control.minLength = 8;
  const msg = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('acct.password'));
  const errors = { current: current.error, new: next.error };
  const form = h('form', {
    class: 'form-grid narrow', 'data-testid': 'password-form', novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const f of [current, next, again]) f.error.set('');
      // What the browser can tell at once; the server decides the rest.
      if (next.control.value.length < 8) { next.error.set(t('acct.short')); next.control.focus(); return; }
      if (next.control.value !== again.control.value) { again.error.set(t('acct.mismatch')); again.control.focus(); return; }
      save.disabled = true;
      try {
        await api('/auth/password', { method: 'POST', body: { current: current.control.value, new: next.control.value } });
        form.reset();
        msg.append(alertBox(t('acct.changed'), 'ok'));
        toast(t('acct.changed'));
      } catch (e) {
        const errs = fieldErrors(e);
        for (const [f, m] of errs) errors[f]?.set(m);
        const first = ['current', 'new'].find((f) => errs.has(f));
        if (first) (first === 'current' ? current : next).control.focus();
        if (!errs.size || [...errs.keys()].some((f) => !errors[f])) msg.append(alertBox(errorText(e)));
      } finally {
        save.disabled = false;
      }
    },
  }, current.el, next.el, again.el, msg, h('div', { class: 'actions' }, save));
  return h('div', { class: 'page' },
    h('h1', {}, t('acct.title')),
    h('p', { class: 'muted', 'data-testid': 'account-who' },
      t('acct.who', { name: u.display_name, user: u.username, role: label('role', u.role) })),
    card(t('acct.password'), form));
}
