// 导入向导: upload a CSV or XLSX file, check the preview (which column feeds
// which field, unknown columns, missing required ones, the first rows with
// their errors; nothing stored yet), import, read the row-level report,
// download the report and the bad rows to fix them and upload them again.
import { api } from './api.js';
import { t, has } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, download, csvCell, localText } from './ui.js';

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

/**
 * The result of an import. `labels` names the fields of the preview's columns
 * (a custom field's label for `custom.KEY`).
 */
function report(r, file, kind, text, labels = {}) {
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
          ...r.errors.map((e) => [e.line, e.column, e.field, localText(e.message)].map(csvCell).join(',')),
        ].join('\r\n')),
      }, t('imp.dl.report')),
      text !== null ? h('button', {
        type: 'button', class: 'btn', 'data-testid': 'dl-rows',
        onclick: () => download(`${base}-bad-rows.csv`, badRows(text, lines)),
      }, t('imp.dl.rows')) : null));
    parts.push(h('h3', {}, t('imp.errors')), h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'import-errors' },
      h('thead', {}, h('tr', {}, ['imp.line', 'imp.column', 'imp.field', 'imp.message'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.errors.map((e) => h('tr', {},
        h('td', {}, String(e.line)), h('td', {}, e.column ?? ''), h('td', {}, fieldName(e.field, labels[e.field])), h('td', {}, localText(e.message))))))));
  }
  if (r.warnings?.length) {
    parts.push(h('h3', {}, t('imp.warnings')), h('ul', {}, r.warnings.map((w) => h('li', {}, typeof w === 'string' ? localText(w) : [w.line && `${t('imp.line')} ${w.line}`, localText(w.message)].filter(Boolean).join(t('common.colon'))))));
  }
  return card(`${t('imp.step2')} · ${file.name} (${t(`imp.kind.${kind}`)})`, ...parts);
}

/** A field's name in the user's language, else the server's Chinese label. */
function fieldName(field, fallback) {
  if (!field) return '';
  return has(`f.${field}`) ? t(`f.${field}`) : (fallback || field);
}

/** A custom profile field of the deployment (`custom.skin`), named by its label. */
const isCustom = (field) => /^custom\./.test(field || '');

const STATUS = { mapped: 'imp.pv.st.mapped', unknown: 'imp.pv.st.unknown', duplicate: 'imp.pv.st.duplicate', ignored: 'imp.pv.st.ignored' };

/**
 * The preview of `POST /imports/{kind}?preview=true`: where the rows come
 * from, the column mapping, what blocks the import, the first rows with their
 * errors, and the button that imports. `onImport` runs the real import.
 */
function previewCard(p, file, kind, onImport) {
  const parts = [];
  const src = p.source || {};
  const where = src.format === 'csv'
    ? t('imp.pv.csv', { encoding: src.encoding === 'gbk' ? 'GBK' : (src.encoding || '').toUpperCase(), delimiter: src.delimiter === '\t' ? 'Tab' : src.delimiter })
    : t('imp.pv.sheet', { format: (src.format || '').toUpperCase(), sheet: src.sheet });
  const rows = p.data_rows - p.blank_rows;
  parts.push(h('p', { class: 'muted', 'data-testid': 'preview-source' }, where, ' · ', t('imp.pv.rows', { n: rows })));

  if (p.missing_required?.length || p.file_errors?.length) {
    const labelOf = (f, i) => fieldName(f, p.missing_required_labels?.[i]);
    parts.push(h('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'preview-blocked' },
      p.missing_required?.length ? h('p', {}, t('imp.pv.missing', { fields: p.missing_required.map(labelOf).join('、') })) : null,
      h('ul', {}, (p.file_errors || []).map((m) => h('li', {}, localText(m)))),
      h('p', {}, t('imp.pv.blocked'))));
  }
  const unknown = p.columns.filter((c) => c.status === 'unknown');
  if (unknown.length) {
    parts.push(alertBox(t('imp.pv.unknown', { columns: unknown.map((c) => c.header || `#${c.index}`).join('、') }), 'warn'));
  }

  // File column → field.
  parts.push(h('h3', {}, t('imp.pv.mapping')), h('div', { class: 'table-wrap' }, h('table', { class: 'table preview', 'data-testid': 'preview-columns' },
    h('thead', {}, h('tr', {}, ['imp.pv.index', 'imp.pv.header', 'imp.field', 'imp.pv.status'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, p.columns.map((c) => h('tr', { class: c.status === 'mapped' ? null : `col-${c.status}`, 'data-status': c.status },
      h('td', {}, String(c.index)),
      h('th', { scope: 'row' }, c.header || t('imp.pv.noheader')),
      h('td', { 'data-field': c.field || null }, c.status === 'mapped' || c.status === 'duplicate'
        ? [fieldName(c.field, c.field_label), isCustom(c.field) ? h('small', { class: 'muted' }, ` · ${t('c.custom')}`) : null]
        : '—'),
      h('td', {}, c.status === 'mapped' ? t(STATUS.mapped) : h('span', { class: c.status === 'ignored' ? 'badge' : 'badge badge-warn' }, t(STATUS[c.status] || STATUS.unknown)))))))));

  // The first rows as the import reads them.
  const fields = p.columns.filter((c) => c.status === 'mapped');
  parts.push(h('h3', {}, t('imp.pv.sample', { n: p.sample.length })));
  if (p.errors_in_sample) parts.push(h('p', { class: 'field-error' }, t('imp.pv.sample.errors', { n: p.errors_in_sample })));
  parts.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table preview', 'data-testid': 'preview-sample' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('imp.line')),
      fields.map((c) => h('th', { scope: 'col' }, `${fieldName(c.field, c.field_label)}`, h('br'), h('small', { class: 'muted' }, c.header))),
      h('th', { scope: 'col' }, t('imp.pv.problems')))),
    h('tbody', {}, p.sample.map((r) => {
      const bad = new Set(r.errors.map((e) => e.field).filter(Boolean));
      return h('tr', { class: r.errors.length ? 'row-error' : null, 'data-line': r.line },
        h('th', { scope: 'row' }, String(r.line)),
        fields.map((c) => h('td', bad.has(c.field) ? { class: 'cell-error', 'aria-invalid': 'true' } : {}, r.cells[c.field] ?? '')),
        h('td', {}, r.errors.length
          ? h('ul', { class: 'plain' }, r.errors.map((e) => h('li', {}, [e.column || fieldName(e.field), localText(e.message)].filter(Boolean).join(t('common.colon')))))
          : h('span', { class: 'muted' }, t('imp.pv.ok'))));
    })))));
  if (p.note) parts.push(alertBox(t(`imp.pv.note.${kind}`), 'info'));

  const go = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'import-go', disabled: !p.importable },
    t('imp.pv.go', { n: rows }));
  go.addEventListener('click', async () => {
    go.disabled = true;
    // Imported: the button stays off (the report is below); failed: try again.
    if (!(await onImport())) go.disabled = false;
  });
  parts.push(h('div', { class: 'actions' }, go));
  const c = card(`${t('imp.pv.title')} · ${file.name} (${t(`imp.kind.${kind}`)})`, ...parts);
  c.querySelector('h2').setAttribute('tabindex', '-1');
  return c;
}

export async function importer() {
  const out = h('div', { 'aria-live': 'polite' });
  const kind = select(KINDS.map((k) => [k, t(`imp.kind.${k}`)]), 'customers', { name: 'kind' });
  const file = h('input', { type: 'file', name: 'file', required: true, accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'data-testid': 'import-file' });
  const go = h('button', { type: 'submit', class: 'btn btn-primary' }, t('imp.upload'));
  // An empty file with every column the import knows, for the kind chosen.
  const templateLink = h('a', { class: 'btn', 'data-testid': 'import-template', download: true, href: '/api/v1/imports/customers/template' }, t('imp.template'));
  kind.addEventListener('change', () => { templateLink.href = `/api/v1/imports/${kind.value}/template`; });
  const form = h('form', {
    class: 'form-grid',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const f = file.files[0];
      if (!f) return;
      const k = kind.value;
      const result = h('div');
      // The fields of the file's columns by name, from the preview, for the report.
      let labels = {};
      // The server runs a few imports at once and answers the next one 429
      // (imports_busy): the file waits its turn here, and the page says so.
      const send = async (query, status) => {
        for (let tries = 0; ; tries++) {
          const fd = new FormData();
          fd.append('file', f, f.name);
          try {
            return await api(`/imports/${k}${query}`, { method: 'POST', body: fd });
          } catch (e) {
            if (e.code !== 'imports_busy' || tries >= 40) throw e;
            const wait = Math.min(Number(e.details?.retry_after) || 30, 30);
            status.replaceChildren(h('p', { class: 'muted', role: 'status', 'data-testid': 'import-queued' }, t('imp.queued', { n: wait })));
            await new Promise((done) => setTimeout(done, wait * 1000));
          }
        }
      };
      const runImport = async () => {
        result.replaceChildren(h('p', { class: 'muted' }, t('imp.importing')));
        try {
          const r = await send('', result);
          const text = /\.csv$/i.test(f.name) ? await csvText(f) : null;
          result.replaceChildren(report(r, f, k, text, labels));
          result.querySelector('h2')?.setAttribute('tabindex', '-1');
          result.querySelector('h2')?.focus();
          return true;
        } catch (e) {
          result.replaceChildren(alertBox(errorText(e)));
          return false;
        }
      };
      clear(out).append(h('p', { class: 'muted' }, t('imp.uploading')));
      go.disabled = true;
      try {
        const p = await send('?preview=true', out);
        labels = Object.fromEntries(p.columns.filter((c) => c.field).map((c) => [c.field, c.field_label]));
        clear(out).append(previewCard(p, f, k, runImport), result);
        out.querySelector('h2')?.focus();
      } catch (e) {
        clear(out).append(alertBox(errorText(e)));
      } finally {
        go.disabled = false;
      }
    },
  }, field(t('imp.kind'), kind), field(t('imp.file'), file), h('div', { class: 'actions' }, go, templateLink));
  // A new file or kind: the preview shown is no longer the file's.
  const reset = () => clear(out);
  kind.addEventListener('change', reset);
  file.addEventListener('change', reset);
  return h('div', { class: 'page' }, h('h1', {}, t('imp.title')), card(t('imp.step1'), form), out);
}
