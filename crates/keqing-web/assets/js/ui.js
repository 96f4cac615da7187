// Small DOM helpers. Text from the API is always set as text, never as HTML.
import { t, has, getLang } from './i18n.js';

/** h('button', {class: 'x', onclick: f}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { el.replaceChildren(); return el; }

let uid = 0;
/** A unique id, so every input can have its <label for>. */
export function id(prefix = 'f') { uid += 1; return `${prefix}-${uid}`; }

/** A labelled field: label + control. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = id();
  return h('div', { class: 'field' },
    h('label', { for: control.id }, labelText),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

/**
 * An error line under a control, tied to it with aria-describedby; `set(msg)`
 * shows the server's words beside the field (empty hides it again).
 */
export function errorLine(control) {
  const line = h('small', { class: 'field-error', id: id('err'), hidden: true });
  const describedBy = [control.getAttribute('aria-describedby'), line.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  line.set = (msg) => {
    line.textContent = msg || '';
    line.hidden = !msg;
    line.setAttribute('role', msg ? 'alert' : 'none');
    if (msg) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return line;
}

/** A labelled field with an error line: {el, control, error}. */
export function checkedField(labelText, control, hint) {
  const error = errorLine(control);
  const el = field(labelText, control, hint);
  el.append(error);
  return { el, control, error };
}

// Chinese characters and full-width punctuation.
const CJK = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]/;

/**
 * The half of a server message in the chosen language. The API writes
 * "中文 English" (Chinese first, then the English as it was): the Chinese
 * half ends at the first space after Chinese text that is followed by
 * something that is not Chinese (outside “quotes”). The Chinese half gets
 * the value the English half names (quoted, or a number at its end) when it lacks one
 * (手机号码格式不正确 not a mobile number: "123" → 手机号码格式不正确：“123”).
 * A message in one language only is shown as it is.
 */
export function localText(message) {
  const s = String(message ?? '').trim();
  let cut = -1;
  let quoted = false;
  for (let i = 0; i < s.length; i += 1) {
    const ch = s[i];
    if (ch === '“') quoted = true;
    else if (ch === '”') quoted = false;
    else if (ch === ' ' && !quoted && i + 1 < s.length && !CJK.test(s[i + 1]) && CJK.test(s.slice(0, i))) {
      // A number after the Chinese belongs to it (表格超过行数上限 1048576 the sheet…).
      const word = s.slice(i + 1).split(' ')[0];
      if (/^[^A-Za-z"'{(]+$/.test(word) && s.indexOf(' ', i + 1) > 0) continue;
      cut = i;
      break;
    }
  }
  if (cut < 0) return s;
  const zh = s.slice(0, cut).trim();
  const en = s.slice(cut + 1).trim();
  if (getLang() === 'en') return en;
  // The value the English half names: quoted, or a number at its end (…: 010-6234).
  const value = en.match(/"([^"]+)"/)?.[1] ?? en.match(/: ([^A-Za-z\s]+)$/)?.[1];
  return value && !zh.includes(value) ? `${zh}：“${value}”` : zh;
}

/** The API's per-field errors of a 422 as a Map field → message (in the chosen language). */
export function fieldErrors(e) {
  const list = e?.details?.fields;
  return new Map(Array.isArray(list) ? list.map((f) => [f.field, localText(f.message)]) : []);
}

/** <select> with [value, text] options. */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, text)));
}

/** Whether two texts say the same (ignoring case, spaces and end punctuation). */
function same(a, b) {
  const norm = (x) => String(x).toLowerCase().replace(/[\s。.!！]+/g, '');
  return norm(a) === norm(b);
}

/**
 * The user-facing text of an error, in the chosen language only: our words
 * for its code, then the API's own (per field when it names fields), never
 * the same words twice.
 */
export function errorText(e) {
  const code = e?.code || 'generic';
  const ours = has(`err.${code}`) ? t(`err.${code}`) : t('err.generic');
  const list = e?.details?.fields;
  const theirs = Array.isArray(list) && list.length
    ? list.map((f) => `${has(`f.${f.field}`) ? t(`f.${f.field}`) : f.field}${t('common.colon')}${localText(f.message)}`).join(getLang() === 'en' ? '; ' : '；')
    : localText(e?.message || '');
  if (!theirs || same(theirs, ours) || same(theirs, `HTTP ${e?.status}`)) return ours;
  // The server's words say ours and more (登录失败次数过多，请32秒后再试): theirs alone.
  const norm = (x) => x.toLowerCase().replace(/\s+/g, '');
  if (norm(theirs).startsWith(norm(ours).slice(0, 4))) return theirs;
  return `${ours} — ${theirs}`;
}

/** An alert box inside the page (role=alert so screen readers say it). */
export function alertBox(text, kind = 'error') {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

let toastTimer;
/** A short confirmation at the bottom of the screen. */
export function toast(text, kind = 'ok') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = text;
  el.className = `toast toast-${kind} show`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, 3500);
}

/** A titled card section. */
export function card(title, ...body) {
  const hid = id('h');
  return h('section', { class: 'card', 'aria-labelledby': hid }, h('h2', { id: hid }, title), ...body);
}

/** Downloads text as a file made in the browser (nothing leaves the machine). */
export function download(name, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob(['\ufeff', text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A CSV cell, quoted when it needs to be. */
export function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
