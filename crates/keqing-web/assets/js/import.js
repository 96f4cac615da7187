// 导入向导: upload a CSV or XLSX file, read the row-level report, download
// the report and the bad rows to fix them and upload them again.
import { api } from './api.js';
import { t, has } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, download, csvCell } from './ui.js';

const KINDS = ['customers', 'contacts', 'orders'];

/** Text of a CSV upload, UTF-8 or GBK (as the server accepts both). */
async function csvText(file) {
  const buf = await file.arrayBuffer();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf).replace(/^\ufeff/, '');
  } catch {
    return new TextDecoder('gbk').decode(buf);
  }
}

/**
 * The header and the rows the report names, from a CSV upload. Line numbers
 * are the file's lines (the header is line 1). Quoted cells spanning lines are
 * kept whole.
 */
function badRows(text, lines) {
  const records = [];
  let start = 1;
  let cur = '';
  let quoted = false;
  let line = 1;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === '\n' && !quoted) {
      records.push([start, cur.replace(/\r$/, '')]);
      cur = '';
      line += 1;
      start = line;
      continue;
    }
    if (ch === '\n') line += 1;
    cur += ch;
  }
  if (cur) records.push([start, cur]);
  const wanted = new Set(lines);
  return [records[0]?.[1] ?? '', ...records.filter(([n]) => wanted.has(n)).map(([, r]) => r)].join('\r\n');
}

function report(r, file, kind, text) {
  const stats = h('dl', { class: 'stats' },
    ...[['imp.rows', r.data_rows], ['imp.imported', r.imported], ['imp.existing', r.existing], ['imp.rejected', r.rejected]]
      .map(([k, v]) => h('div', { class: 'stat', 'data-testid': `stat-${k.slice(4)}` }, h('dt', {}, t(k)), h('dd', {}, String(v)))));
  const parts = [stats];
  if (!r.errors.length) {
    parts.push(alertBox(t('imp.allgood'), 'ok'));
  } else {
    const lines = [...new Set(r.errors.map((e) => e.line))];
    const base = file.name.replace(/\.[^.]+$/, '');
    parts.push(h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'btn', 'data-testid': 'dl-report',
        onclick: () => download(`${base}-errors.csv`, [
          [t('imp.line'), t('imp.column'), t('imp.field'), t('imp.message')].map(csvCell).join(','),
          ...r.errors.map((e) => [e.line, e.column, e.field, e.message].map(csvCell).join(',')),
        ].join('\r\n')),
      }, t('imp.dl.report')),
      text !== null ? h('button', {
        type: 'button', class: 'btn', 'data-testid': 'dl-rows',
        onclick: () => download(`${base}-bad-rows.csv`, badRows(text, lines)),
      }, t('imp.dl.rows')) : null));
    parts.push(h('h3', {}, t('imp.errors')), h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'import-errors' },
      h('thead', {}, h('tr', {}, ['imp.line', 'imp.column', 'imp.field', 'imp.message'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.errors.map((e) => h('tr', {},
        h('td', {}, String(e.line)), h('td', {}, e.column ?? ''), h('td', {}, e.field ? (has(`f.${e.field}`) ? t(`f.${e.field}`) : e.field) : ''), h('td', {}, e.message)))))));
  }
  if (r.warnings?.length) {
    parts.push(h('h3', {}, t('imp.warnings')), h('ul', {}, r.warnings.map((w) => h('li', {}, typeof w === 'string' ? w : [w.line && `${t('imp.line')} ${w.line}`, w.message].filter(Boolean).join('：')))));
  }
  return card(`${t('imp.step2')} · ${file.name} (${t(`imp.kind.${kind}`)})`, ...parts);
}

export async function importer() {
  const out = h('div', { 'aria-live': 'polite' });
  const kind = select(KINDS.map((k) => [k, t(`imp.kind.${k}`)]), 'customers', { name: 'kind' });
  const file = h('input', { type: 'file', name: 'file', required: true, accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'data-testid': 'import-file' });
  const go = h('button', { type: 'submit', class: 'btn btn-primary' }, t('imp.upload'));
  const form = h('form', {
    class: 'form-grid',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const f = file.files[0];
      if (!f) return;
      clear(out).append(h('p', { class: 'muted' }, t('imp.uploading')));
      go.disabled = true;
      try {
        const fd = new FormData();
        fd.append('file', f, f.name);
        const r = await api(`/imports/${kind.value}`, { method: 'POST', body: fd });
        const text = /\.csv$/i.test(f.name) ? await csvText(f) : null;
        clear(out).append(report(r, f, kind.value, text));
      } catch (e) {
        clear(out).append(alertBox(errorText(e)));
      } finally {
        go.disabled = false;
      }
    },
  }, field(t('imp.kind'), kind), field(t('imp.file'), file), h('div', { class: 'actions' }, go));
  return h('div', { class: 'page' }, h('h1', {}, t('imp.title')), card(t('imp.step1'), form), out);
}
