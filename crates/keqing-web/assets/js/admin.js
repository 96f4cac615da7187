// 管理, one tab each (#/admin/{tab}): users and teams, roles and scopes (the
// matrix the server enforces), custom profile fields, care settings
// (occasions, cadence standards, quota, frequency cap), greeting templates,
// and the audit log. Editing is for whom the server lets edit; everyone else
// sees the same forms read-only.
import { api } from './api.js';
import { t, label, getLang } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, toast, id, checkedField, fieldErrors, errorLine } from './ui.js';
import { auditTab } from './audit.js';
import { poolTab } from './pool.js';

const ROLES = ['manager', 'supervisor', 'director', 'finance', 'agent', 'admin'];
const TABS = [
  ['users', 'adm.tab.users', () => true],
  ['roles', 'adm.tab.roles', () => true],
  ['fields', 'adm.tab.fields', () => true],
  ['pool', 'adm.tab.pool', () => true],
  ['care', 'adm.tab.care', (app) => app.care],
  ['templates', 'adm.tab.templates', (app) => app.care],
  ['audit', 'adm.tab.audit', (app) => ['admin', 'director'].includes(app.user.role)],
];
const FIELD_TYPES = ['text', 'number', 'date', 'choice', 'multi_choice'];
const RULES = ['solar', 'lunar', 'nth_weekday', 'solar_term'];
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const NTHS = ['first', 'second', 'third', 'fourth', 'fifth', 'last'];
const COUNTED = ['visit', 'call', 'help', 'face_to_face'];
const PERIODS = ['week', 'month', 'quarter', 'year'];

/** A small button that says what it acts on to a screen reader. */
function tool(text, aria, onclick, attrs = {}) {
  return h('button', { type: 'button', class: 'btn btn-small', 'aria-label': aria, onclick, ...attrs }, text);
}

function num(attrs = {}) {
  return h('input', { type: 'number', inputmode: 'numeric', step: '1', ...attrs });
}

/** A checkbox with its label after it. */
function check(text, checked, attrs = {}) {
  const box = h('input', { type: 'checkbox', checked, id: id(), ...attrs });
  return { box, el: h('div', { class: 'field field-check' }, box, h('label', { for: box.id }, text)) };
}

// Users and teams ------------------------------------------------------------

/**
 * An administrator's editor for one user: role, team, region, active. Only
 * what changed is sent; the server's word on a field appears under it, any
 * other refusal (the last administrator) beside the save button.
 */
/** A <select> of the region list ('' = none); a value not on the list stays choosable. */
function regionSelect(regions, value, attrs = {}) {
  const names = regions.map((r) => r.name);
  if (value && !names.includes(value)) names.push(value);
  return select([['', t('adm.region.none')], ...names.map((n) => [n, n])], value || '', attrs);
}

function userEditor(app, u, teams, regions, done) {
  const role = checkedField(t('adm.role'), select(ROLES.map((r) => [r, label('role', r)]), u.role, { 'data-testid': 'ue-role' }));
  const team = checkedField(t('adm.team'), select([['', t('adm.edit.noteam')], ...teams.map((tm) => [tm.id, tm.name])], u.team_id ?? '', { 'data-testid': 'ue-team' }));
  const region = checkedField(t('adm.region'), regionSelect(regions, u.region, { 'data-testid': 'ue-region' }), t('adm.edit.region.hint'));
  const active = check(t('adm.edit.active'), u.active, { 'data-testid': 'ue-active' });
  const activeError = errorLine(active.box);
  active.el.append(activeError);
  const display = checkedField(t('adm.edit.display'), h('input', { value: u.display_name || '', maxlength: 32, required: true, 'data-testid': 'ue-display' }));
  const password = checkedField(t('adm.edit.password'), h('input', { type: 'password', autocomplete: 'new-password', maxlength: 1024, 'data-testid': 'ue-password' }), t('adm.edit.password.hint'));
  const errors = { display_name: display.error, role: role.error, team_id: team.error, region: region.error, active: activeError, password: password.error };
  const controls = { display_name: display, role, team_id: team, region, password };
  const msg = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
  const changes = () => {
    const b = {};
    const name = display.control.value.trim();
    if (name !== (u.display_name || '')) b.display_name = name;
    if (password.control.value) b.password = password.control.value;
    if (role.control.value !== u.role) b.role = role.control.value;
    const tid = team.control.value ? Number(team.control.value) : null;
    if (tid !== (u.team_id ?? null)) b.team_id = tid;
    const reg = region.control.value.trim() || null;
    if (reg !== (u.region || null)) b.region = reg;
    if (active.box.checked !== u.active) b.active = active.box.checked;
    return b;
  };
  return h('form', {
    class: 'form-grid', 'data-testid': 'user-edit',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const e of Object.values(errors)) e.set('');
      const body = changes();
      if (!Object.keys(body).length) { done(); return; }
      save.disabled = true;
      try {
        const saved = await api(`/users/${u.id}`, { method: 'PATCH', body });
        app.users.set(saved.id, saved);
        if (saved.id === app.user.id) Object.assign(app.user, saved);
        toast(t('common.saved'));
        app.refresh();
      } catch (e) {
        const left = [];
        for (const [f, m] of fieldErrors(e)) {
          if (errors[f]) errors[f].set(m); else left.push(`${f}: ${m}`);
        }
        // A refusal that is no one field's (409: the last administrator) goes beside the save button.
        if (left.length || !fieldErrors(e).size) msg.append(alertBox(left.length ? `${t('err.invalid')} — ${left.join('；')}` : errorText(e)));
        const bad = Object.keys(errors).find((f) => fieldErrors(e).has(f));
        if (bad) (bad === 'active' ? active.box : controls[bad].control).focus();
        save.disabled = false;
      }
    },
  }, h('fieldset', { class: 'field-wide' }, h('legend', {}, t('adm.edit.title', { name: u.display_name || u.username })),
    h('div', { class: 'def-grid' }, display.el, role.el, team.el, region.el, active.el, h('div', { class: 'field-wide' }, password.el))),
  msg,
  h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: done }, t('common.cancel'))));
}

function usersCard(app, users, teams, regions) {
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const admin = app.isAdmin();
  const heads = ['adm.username', 'adm.display', 'adm.role', 'adm.team', 'adm.region', 'adm.active'];
  const rows = users.flatMap((u) => {
    const row = h('tr', { 'data-user': u.username },
      h('td', {}, u.username), h('td', {}, u.display_name), h('td', {}, label('role', u.role)),
      h('td', {}, u.team_id ? teamName.get(u.team_id) || `#${u.team_id}` : '—'), h('td', {}, u.region || '—'),
      h('td', {}, u.active ? t('common.yes') : t('common.no')));
    if (!admin) return [row];
    // The editor opens in a row of its own under the user's row.
    const editRow = h('tr', { class: 'edit-row', hidden: true }, h('td', { colspan: heads.length + 1 }));
    const name = u.display_name || u.username;
    const edit = tool(t('common.edit'), t('adm.edit.label', { name }), () => {
      const cell = editRow.firstChild;
      const close = () => { editRow.hidden = true; clear(cell); edit.setAttribute('aria-expanded', 'false'); edit.focus(); };
      clear(cell).append(userEditor(app, u, teams, regions, close));
      editRow.hidden = false;
      edit.setAttribute('aria-expanded', 'true');
      cell.querySelector('select')?.focus();
    }, { 'aria-expanded': 'false', 'data-testid': 'user-edit-open' });
    row.append(h('td', {}, edit));
    return [row, editRow];
  });
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table users', 'data-testid': 'users' },
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))), admin ? h('th', { scope: 'col' }, t('adm.edit.col')) : null)),
    h('tbody', {}, rows)));
  if (!app.isAdmin()) return card(t('adm.users'), table);
  const msg = h('div', { 'aria-live': 'polite' });
  const f = {
    username: h('input', { required: true, autocomplete: 'off' }),
    display_name: h('input', {}),
    role: select(ROLES.map((r) => [r, label('role', r)]), 'manager'),
    team_id: select([['', '—'], ...teams.map((tm) => [tm.id, tm.name])], ''),
    region: regionSelect(regions, ''),
    password: h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' }),
  };
  // A new user is in their team's region unless another is chosen.
  let regionChosen = false;
  f.region.addEventListener('change', () => { regionChosen = !!f.region.value; });
  f.team_id.addEventListener('change', () => {
    if (regionChosen) return;
    const tm = teams.find((x) => String(x.id) === f.team_id.value);
    f.region.value = tm?.region && [...f.region.options].some((o) => o.value === tm.region) ? tm.region : '';
  });
  const form = h('form', {
    class: 'form-grid',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      try {
        await api('/users', {
          method: 'POST',
          body: {
            username: f.username.value.trim(), display_name: f.display_name.value.trim() || null, role: f.role.value,
            team_id: f.team_id.value ? Number(f.team_id.value) : null, region: f.region.value || null, password: f.password.value,
          },
        });
        toast(t('adm.created'));
        app.refresh();
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, msg, field(t('adm.username'), f.username), field(t('adm.display'), f.display_name), field(t('adm.role'), f.role),
  field(t('adm.team'), f.team_id), field(t('adm.region'), f.region, t('adm.region.fromteam')), field(t('adm.password'), f.password),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('adm.adduser'))));
  return card(t('adm.users'), table, h('h3', {}, t('adm.adduser')), form);
}

/** An administrator's editor for one team: its name and region. */
function teamEditor(app, tm, regions, done) {
  const name = checkedField(t('adm.teamname'), h('input', { value: tm.name, required: true, maxlength: 64, 'data-testid': 'te-name' }));
  const region = checkedField(t('adm.region'), regionSelect(regions, tm.region, { 'data-testid': 'te-region' }));
  const errors = { name: name.error, region: region.error };
  const msg = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
  return h('form', {
    class: 'form-grid', 'data-testid': 'team-edit',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const e of Object.values(errors)) e.set('');
      const body = {};
      if (name.control.value.trim() !== tm.name) body.name = name.control.value.trim();
      if ((region.control.value || null) !== (tm.region || null)) body.region = region.control.value || null;
      if (!Object.keys(body).length) { done(); return; }
      save.disabled = true;
      try {
        await api(`/teams/${tm.id}`, { method: 'PATCH', body });
        toast(t('common.saved'));
        app.refresh();
      } catch (e) {
        const errs = fieldErrors(e);
        for (const [f, m] of errs) errors[f]?.set(m);
        if (!errs.size) msg.append(alertBox(errorText(e)));
        save.disabled = false;
      }
    },
  }, name.el, region.el, msg,
  h('div', { class: 'actions' }, save, h('button', { type: 'button', class: 'btn', onclick: done }, t('common.cancel'))));
}

function teamsCard(app, teams, users, regions) {
  const members = (tm) => users.filter((u) => u.team_id === tm.id).length;
  const admin = app.isAdmin();
  const list = teams.length
    ? h('ul', { class: 'list', 'data-testid': 'teams' }, teams.map((tm) => {
      const li = h('li', { 'data-team': tm.name });
      const show = () => {
        const edit = admin ? tool(t('common.edit'), t('adm.team.edit', { name: tm.name }), () => {
          clear(li).append(teamEditor(app, tm, regions, () => { show(); li.querySelector('button')?.focus(); }));
          li.querySelector('input')?.focus();
        }, { 'data-testid': 'team-edit-open' }) : null;
        clear(li).append(h('div', { class: 'row' },
          h('span', {}, tm.name, tm.region ? h('span', { class: 'muted' }, ` · ${tm.region}`) : null),
          h('span', { class: 'actions' },
            // Only those who read every user see whole teams.
            ['admin', 'director'].includes(app.user.role) ? h('span', { class: 'muted' }, t('adm.team.members', { n: members(tm) })) : null,
            edit)));
      };
      show();
      return li;
    }))
    : h('p', { class: 'muted' }, t('common.empty'));
  if (!admin) return card(t('adm.teams'), list);
  const msg = h('div', { 'aria-live': 'polite' });
  const name = h('input', { required: true, maxlength: 64 });
  const region = regionSelect(regions, '');
  const form = h('form', {
    class: 'form-grid', 'data-testid': 'team-new',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      try {
        await api('/teams', { method: 'POST', body: { name: name.value.trim(), region: region.value || null } });
        toast(t('adm.created'));
        app.refresh();
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, msg, field(t('adm.teamname'), name), field(t('adm.region'), region),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('adm.addteam'))));
  return card(t('adm.teams'), h('p', { class: 'muted' }, t('adm.teams.intro')), list, h('h3', {}, t('adm.addteam')), form);
}

/**
 * The regions (区域): what a regional scope covers, the customers whose
 * province it names. Users and teams pick theirs from this list; one in use
 * cannot be removed.
 */
function regionsCard(app, regions) {
  const admin = app.isAdmin();
  const msg = h('div', { 'aria-live': 'polite' });
  const list = regions.length
    ? h('ul', { class: 'list', 'data-testid': 'regions' }, regions.map((r) => {
      const used = r.users > 0 || r.teams > 0;
      return h('li', { class: 'row', 'data-region': r.name },
        h('span', {}, h('strong', {}, r.name), ' ',
          h('span', { class: 'muted' }, t('adm.region.used', { users: r.users, teams: r.teams }))),
        h('span', { class: 'actions' },
          h('a', { href: `#/customers?region=${encodeURIComponent(r.name)}` }, t('adm.region.customers')),
          admin ? tool(t('adm.region.remove'), used ? t('adm.region.inuse', { name: r.name }) : t('adm.region.remove.label', { name: r.name }), async () => {
            clear(msg);
            try {
              await api(`/regions/${r.id}`, { method: 'DELETE' });
              toast(t('adm.region.removed', { name: r.name }));
              app.refresh();
            } catch (e) { msg.append(alertBox(errorText(e))); }
          }, { disabled: used, 'data-testid': 'region-remove' }) : null));
    }))
    : h('p', { class: 'muted' }, t('adm.region.empty'));
  const parts = [h('p', { class: 'muted' }, t('adm.region.intro')), msg, list];
  if (admin) {
    const name = h('input', { required: true, maxlength: 32, 'data-testid': 'region-name' });
    const form = h('form', {
      class: 'form-grid',
      onsubmit: async (ev) => {
        ev.preventDefault();
        clear(msg);
        try {
          await api('/regions', { method: 'POST', body: { name: name.value.trim() } });
          toast(t('adm.created'));
          app.refresh();
        } catch (e) { msg.append(alertBox(errorText(e))); name.focus(); }
      },
    }, field(t('adm.region.name'), name, t('adm.region.name.hint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('adm.region.add'))));
    parts.push(h('h3', {}, t('adm.region.add')), form);
  }
  const c = card(t('adm.regions'), ...parts);
  c.dataset.testid = 'regions-card';
  return c;
}

async function usersTab(app) {
  const [users, teams, regions] = await Promise.all([api('/users'), api('/teams'), api('/regions')]);
  return h('div', { class: 'grid-2' }, usersCard(app, users.items, teams.items, regions.items),
    h('div', {}, teamsCard(app, teams.items, users.items, regions.items), regionsCard(app, regions.items)));
}

// Roles and scopes ---------------------------------------------------------------

async function rolesTab() {
  const m = await api('/roles');
  const name = (prefix, x) => label(prefix, x.id) || x.name_zh;
  const scopeOf = new Map(m.grants.map((g) => [`${g.role}/${g.resource}/${g.action}`, g.scope]));
  const tables = m.resources.map((res) => h('div', { class: 'table-wrap' }, h('table', { class: 'table matrix', 'data-testid': `matrix-${res.id}` },
    h('caption', {}, name('res', res)),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('adm.role')), m.actions.map((a) => h('th', { scope: 'col' }, name('action', a))))),
    h('tbody', {}, m.roles.map((role) => h('tr', {},
      h('th', { scope: 'row' }, name('role', role)),
      m.actions.map((a) => {
        const s = scopeOf.get(`${role.id}/${res.id}/${a.id}`);
        return h('td', { class: s ? `scope-${s}` : 'scope-none' }, s ? label('scope', s) : t('adm.roles.none'));
      })))))));
  return card(t('adm.roles'),
    h('p', { class: 'muted' }, t('adm.roles.intro')),
    h('ul', {}, m.scopes.map((s) => h('li', {}, h('strong', {}, label('scope', s.id)), t('common.colon'), t(`adm.scope.${s.id}.text`)))),
    h('div', { class: 'grid-3' }, tables),
    h('h3', {}, t('adm.roles.more')),
    h('ul', {}, ['pool', 'teams', 'settings', 'templates'].map((k) => h('li', {}, t(`adm.roles.more.${k}`)))));
}

// Custom fields ----------------------------------------------------------------

function fieldsTab(app, defs) {
  const editable = app.isAdmin();
  const msg = h('div', { 'aria-live': 'polite' });
  const list = h('ol', { class: 'def-list', 'data-testid': 'custom-fields' });
  let rows = defs.map((d) => ({ ...d, options: d.options || [] }));
  let lines = [];
  const collect = () => lines.map((l) => l.value());
  const render = () => {
    rows = lines.length ? collect() : rows;
    clear(list);
    lines = rows.map((d, i) => {
      const key = checkedField(t('cf.key'), h('input', { value: d.key, required: true, pattern: '[a-z][a-z0-9_]*', autocomplete: 'off', 'data-testid': 'cf-key' }), t('cf.key.hint'));
      const lab = checkedField(t('cf.label'), h('input', { value: d.label, required: true, 'data-testid': 'cf-label' }));
      const type = checkedField(t('cf.type'), select(FIELD_TYPES.map((x) => [x, t(`cf.type.${x}`)]), d.type, { 'data-testid': 'cf-type' }));
      const options = checkedField(t('cf.options'), h('textarea', { rows: 3, 'data-testid': 'cf-options' }, (d.options || []).join('\n')), t('cf.options.hint'));
      const req = check(t('cf.required'), d.required);
      const showOptions = () => { options.el.hidden = !/choice/.test(type.control.value); };
      type.control.addEventListener('change', showOptions);
      showOptions();
      options.el.classList.add('field-wide');
      const title = d.label || t('cf.new');
      const move = (to) => { rows = collect(); const [x] = rows.splice(i, 1); rows.splice(to, 0, x); lines = []; render(); list.querySelectorAll('legend')[to]?.scrollIntoView({ block: 'nearest' }); };
      const li = h('li', { class: 'def-item' }, h('fieldset', { disabled: !editable },
        h('legend', {}, t('cf.field.n', { n: i + 1 }), ' · ', title),
        h('div', { class: 'def-grid' }, key.el, lab.el, type.el, req.el, options.el),
        editable ? h('div', { class: 'def-tools' },
          tool(t('cf.up'), t('cf.up.label', { name: title }), () => move(i - 1), { disabled: i === 0 }),
          tool(t('cf.down'), t('cf.down.label', { name: title }), () => move(i + 1), { disabled: i === rows.length - 1 }),
          tool(t('cf.remove'), t('cf.remove.label', { name: title }), () => { rows = collect(); rows.splice(i, 1); lines = []; render(); })) : null));
      list.append(li);
      return {
        value: () => {
          const out = { key: key.control.value.trim(), label: lab.control.value.trim(), type: type.control.value, required: req.box.checked };
          if (/choice/.test(out.type)) out.options = options.control.value.split('\n').map((s) => s.trim()).filter(Boolean);
          return out;
        },
        errors: { key: key.error, label: lab.error, type: type.error, options: options.error },
      };
    });
    if (!rows.length) list.append(h('li', { class: 'muted' }, t('cf.none')));
  };
  render();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'cf-save' }, t('cf.save'));
  const form = h('form', {
    'data-testid': 'cf-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      for (const l of lines) for (const e of Object.values(l.errors)) e.set('');
      save.disabled = true;
      try {
        const r = await api('/custom-fields', { method: 'PUT', body: { fields: collect() } });
        rows = r.fields;
        lines = [];
        render();
        toast(t('common.saved'));
      } catch (e) {
        // The server names the bad field as fields[i].key …: shown beside it.
        const left = [];
        for (const [f, m] of fieldErrors(e)) {
          const hit = /^fields\[(\d+)\]\.(\w+)$/.exec(f);
          const line = hit && lines[Number(hit[1])]?.errors[hit[2]];
          if (line) line.set(m); else left.push(`${f}: ${m}`);
        }
        if (left.length || !fieldErrors(e).size) msg.append(alertBox(left.length ? `${t('err.invalid')} — ${left.join('；')}` : errorText(e)));
        list.querySelector('[aria-invalid=true]')?.focus();
      } finally {
        save.disabled = false;
      }
    },
  }, msg, list, editable ? h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'btn', 'data-testid': 'cf-add', onclick: () => { rows = collect(); rows.push({ key: '', label: '', type: 'text', options: [], required: false }); lines = []; render(); list.querySelectorAll('[data-testid=cf-key]')[rows.length - 1]?.focus(); } }, t('cf.add')),
    save) : null);
  return card(t('cf.title'), h('p', { class: 'muted' }, t('cf.intro')), editable ? null : alertBox(t('adm.readonly'), 'info'), form);
}

// Care settings ------------------------------------------------------------------

/** One settings section: a form that PUTs only its own keys; errors beside it. */
function settingsForm(app, title, testid, body, keys, values) {
  const editable = app.isAdmin();
  const msg = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, t('common.save'));
  const form = h('form', {
    'data-testid': testid,
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      save.disabled = true;
      try {
        await api('/care/settings', { method: 'PUT', body: values() });
        toast(t('common.saved'));
      } catch (e) {
        const errs = fieldErrors(e);
        const text = keys.map((k) => errs.get(k)).filter(Boolean).join('；');
        msg.append(alertBox(text ? `${t('err.invalid')} — ${text}` : errorText(e)));
      } finally {
        save.disabled = false;
      }
    },
  }, h('fieldset', { disabled: !editable }, body), msg, editable ? h('div', { class: 'actions' }, save) : null);
  return card(title, form);
}

function ruleFields(o, terms) {
  const box = h('div', { class: 'def-grid' });
  const c = {};
  const type = select(RULES.map((r) => [r, t(`occ.rule.${r}`)]), o.rule || 'solar');
  const draw = () => {
    clear(box);
    for (const k of Object.keys(c)) delete c[k];
    const r = type.value;
    if (r === 'solar' || r === 'lunar' || r === 'nth_weekday') c.month = num({ min: 1, max: 12, required: true, value: o.month ?? 1 });
    if (r === 'solar' || r === 'lunar') c.day = num({ min: 1, max: r === 'lunar' ? 30 : 31, required: true, value: o.day ?? 1 });
    if (r === 'lunar') c.leap = check(t('occ.leap'), !!o.leap);
    if (r === 'nth_weekday') {
      c.nth = select(NTHS.map((n) => [n, t(`occ.nth.${n}`)]), o.nth || 'first');
      c.weekday = select(WEEKDAYS.map((w) => [w, t(`occ.wd.${w}`)]), o.weekday || 'Mon');
    }
    if (r === 'solar_term') c.term = select(terms.map((x) => [x, x]), o.term || terms[0]);
    box.append(...[field(t('occ.rule'), type),
      c.month ? field(t('occ.month'), c.month) : null, c.day ? field(t('occ.day'), c.day) : null,
      c.nth ? field(t('occ.nth'), c.nth) : null, c.weekday ? field(t('occ.weekday'), c.weekday) : null,
      c.term ? field(t('occ.term'), c.term) : null, c.leap ? c.leap.el : null].filter(Boolean));
  };
  type.addEventListener('change', draw);
  draw();
  return {
    el: box,
    value: () => {
      const r = { rule: type.value };
      if (c.month) r.month = Number(c.month.value);
      if (c.day) r.day = Number(c.day.value);
      if (c.leap) r.leap = c.leap.box.checked;
      if (c.nth) r.nth = c.nth.value;
      if (c.weekday) r.weekday = c.weekday.value;
      if (c.term) r.term = c.term.value;
      return r;
    },
  };
}

function occasionsSection(app, s) {
  const name = (o) => (getLang() === 'en' ? o.name_en : o.name_zh);
  const disabled = new Set(s.occasions.disabled || []);
  const company = h('input', { value: s.company_name, required: true });
  const builtins = s.builtin_occasions.map((o) => ({ id: o.id, c: check(name(o), !disabled.has(o.id), { 'data-occasion': o.id }) }));
  const list = h('ol', { class: 'def-list', 'data-testid': 'own-occasions' });
  let own = [];
  const addOwn = (o) => {
    const idIn = h('input', { value: o.id || '', required: true, pattern: '[a-z][a-z0-9_]*', autocomplete: 'off' });
    const zh = h('input', { value: o.name_zh || '', required: true });
    const en = h('input', { value: o.name_en || '', required: true });
    const on = check(t('occ.on'), !disabled.has(o.id));
    const rule = ruleFields(o, s.solar_terms);
    const entry = {};
    const li = h('li', { class: 'def-item' }, h('fieldset', {},
      h('legend', {}, o.name_zh || t('occ.new')),
      h('div', { class: 'def-grid' }, field(t('occ.id'), idIn, t('cf.key.hint')), field(t('occ.name_zh'), zh), field(t('occ.name_en'), en), on.el),
      rule.el,
      h('div', { class: 'def-tools' }, tool(t('cf.remove'), t('cf.remove.label', { name: o.name_zh || t('occ.new') }), () => { li.remove(); own = own.filter((x) => x !== entry); }))));
    Object.assign(entry, {
      on: () => on.box.checked,
      value: () => ({ id: idIn.value.trim(), name_zh: zh.value.trim(), name_en: en.value.trim(), ...rule.value() }),
    });
    own.push(entry);
    list.append(li);
    return li;
  };
  (s.occasions.occasions || []).forEach(addOwn);
  const body = [
    field(t('care.company'), company, t('care.company.hint')),
    h('h3', {}, t('occ.builtin')),
    h('div', { class: 'toggles', role: 'group', 'aria-label': t('occ.builtin') }, builtins.map((b) => b.c.el)),
    h('h3', {}, t('occ.own')), list,
    app.isAdmin() ? h('button', { type: 'button', class: 'btn', onclick: () => addOwn({ rule: 'solar' }).querySelector('input')?.focus() }, t('occ.add')) : null,
  ];
  return settingsForm(app, t('care.occasions'), 'care-occasions', body, ['company_name', 'occasions'], () => {
    const occasions = own.map((x) => x.value());
    return {
      company_name: company.value.trim(),
      occasions: {
        disabled: [...builtins.filter((b) => !b.c.box.checked).map((b) => b.id), ...own.filter((x) => !x.on()).map((x) => x.value().id)],
        occasions,
      },
    };
  });
}

function cadenceSection(app, s) {
  const list = h('ol', { class: 'def-list', 'data-testid': 'cadence' });
  let standards = [];
  const addStandard = (st) => {
    const cls = h('input', { value: st.class || '', required: true, autocomplete: 'off' });
    const nm = h('input', { value: st.name_zh || '', required: true });
    const reqs = h('ul', { class: 'list' });
    let lines = [];
    const title = st.name_zh || t('cad.new');
    const addReq = (r) => {
      const times = num({ min: 1, required: true, value: r.times ?? 1 });
      const counted = select(COUNTED.map((c) => [c, t(`cad.counted.${c}`)]), r.counted || 'visit');
      const per = select(PERIODS.map((p) => [p, t(`cad.per.${p}`)]), r.per || 'month');
      const line = { value: () => ({ counted: counted.value, times: Number(times.value), per: per.value }) };
      const li = h('li', { class: 'req-row' }, field(t('cad.counted'), counted), field(t('cad.times'), times), field(t('cad.per'), per),
        h('div', { class: 'def-tools' }, tool(t('cf.remove'), t('cad.req.remove', { name: title }), () => { li.remove(); lines = lines.filter((x) => x !== line); })));
      lines.push(line);
      reqs.append(li);
    };
    (st.requirements || []).forEach(addReq);
    const entry = { value: () => ({ class: cls.value.trim(), name_zh: nm.value.trim(), requirements: lines.map((l) => l.value()) }) };
    const li = h('li', { class: 'def-item' }, h('fieldset', {}, h('legend', {}, title),
      h('div', { class: 'def-grid' }, field(t('cad.class'), cls, t('cad.class.hint')), field(t('cad.name'), nm)),
      h('h3', {}, t('cad.reqs')), reqs,
      h('div', { class: 'def-tools' },
        tool(t('cad.req.add'), t('cad.req.add.label', { name: title }), () => addReq({})),
        tool(t('cf.remove'), t('cf.remove.label', { name: title }), () => { li.remove(); standards = standards.filter((x) => x !== entry); }))));
    standards.push(entry);
    list.append(li);
    return li;
  };
  s.cadence_standards.forEach(addStandard);
  const body = [h('p', { class: 'muted' }, t('cad.intro')), list,
    app.isAdmin() ? h('button', { type: 'button', class: 'btn', onclick: () => addStandard({ requirements: [{}] }).querySelector('input')?.focus() }, t('cad.add')) : null];
  return settingsForm(app, t('cad.title'), 'care-cadence', body, ['cadence_standards'], () => ({ cadence_standards: standards.map((x) => x.value()) }));
}

function quotaSection(app, s) {
  const q = s.daily_quota;
  const c = {
    new_customer_visits: num({ min: 0, required: true, value: q.new_customer_visits }),
    existing_customer_visits: num({ min: 0, required: true, value: q.existing_customer_visits }),
    calls: num({ min: 0, required: true, value: q.calls }),
    max_contacts: num({ min: 1, required: true, value: s.frequency_cap.max_contacts }),
    period_days: num({ min: 1, required: true, value: s.frequency_cap.period_days }),
  };
  const body = [
    h('h3', {}, t('quota.title')), h('p', { class: 'muted' }, t('quota.intro')),
    h('div', { class: 'def-grid' }, field(t('care.quota.new'), c.new_customer_visits), field(t('care.quota.existing'), c.existing_customer_visits), field(t('care.quota.calls'), c.calls)),
    h('h3', {}, t('cap.title')), h('p', { class: 'muted' }, t('cap.intro')),
    h('div', { class: 'def-grid' }, field(t('cap.max'), c.max_contacts), field(t('cap.period'), c.period_days)),
    h('h3', {}, t('orderday.title')), h('p', { class: 'muted' }, t('orderday.text')),
  ];
  return settingsForm(app, t('quota.card'), 'care-quota', body, ['daily_quota', 'frequency_cap'], () => ({
    daily_quota: { new_customer_visits: Number(c.new_customer_visits.value), existing_customer_visits: Number(c.existing_customer_visits.value), calls: Number(c.calls.value) },
    frequency_cap: { max_contacts: Number(c.max_contacts.value), period_days: Number(c.period_days.value) },
  }));
}

async function careTab(app) {
  const s = await api('/care/settings');
  return h('div', {}, app.isAdmin() ? null : alertBox(t('adm.readonly'), 'info'),
    h('div', { class: 'grid-2 grid-even' }, occasionsSection(app, s), h('div', {}, quotaSection(app, s), cadenceSection(app, s))));
}

// Templates ------------------------------------------------------------------------

function templateForm(app, tp, occasions, done) {
  const name = checkedField(t('tpl.name'), h('input', { required: true, value: tp?.name || '' }));
  const occasion = field(t('tpl.occasion'), select([['', t('tpl.occasion.any')], ...occasions], tp?.occasion || ''));
  const body = checkedField(t('tpl.body'), h('textarea', { rows: 3, required: true, 'data-testid': 'tpl-body' }, tp ? tp.body : ''), t('tpl.body.hint'));
  const active = check(t('tpl.active'), tp ? tp.active : true);
  const msg = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, tp ? t('common.save') : t('tpl.add'));
  body.el.classList.add('field-wide');
  return h('form', {
    class: 'form-grid', 'data-testid': tp ? 'tpl-edit' : 'tpl-new',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      name.error.set('');
      body.error.set('');
      submit.disabled = true;
      const payload = { name: name.control.value.trim(), occasion: occasion.querySelector('select').value || null, body: body.control.value, active: active.box.checked };
      try {
        await api(tp ? `/care/templates/${tp.id}` : '/care/templates', { method: tp ? 'PATCH' : 'POST', body: payload });
        toast(tp ? t('common.saved') : t('adm.created'));
        done();
      } catch (e) {
        // The signature rule (000) is refused by the server: its words beside the text.
        const errs = fieldErrors(e);
        if (errs.has('body')) { body.error.set(`${t('tpl.refused')} ${errs.get('body')}`); body.control.focus(); }
        if (errs.has('name')) name.error.set(errs.get('name'));
        if (!errs.has('body') && !errs.has('name')) msg.append(alertBox(errorText(e)));
      } finally {
        submit.disabled = false;
      }
    },
  }, msg, name.el, occasion, active.el, body.el,
  h('div', { class: 'actions' }, submit, tp ? h('button', { type: 'button', class: 'btn', onclick: done }, t('common.cancel')) : null));
}

async function templatesTab(app) {
  const [r, s] = await Promise.all([api('/care/templates'), api('/care/settings').catch(() => null)]);
  const may = ['admin', 'director', 'supervisor'].includes(app.user.role);
  const occasions = s ? [...s.builtin_occasions, ...(s.occasions.occasions || [])].map((o) => [o.id, getLang() === 'en' ? o.name_en : o.name_zh]) : [];
  const occName = new Map(occasions);
  const msg = h('div', { 'aria-live': 'polite' });
  const items = h('ul', { class: 'list', 'data-testid': 'templates' });
  for (const tp of r.items) {
    const li = h('li', {});
    const show = () => clear(li).append(h('div', { class: 'row' },
      h('div', {}, h('strong', {}, tp.name), tp.occasion ? h('span', { class: 'badge' }, occName.get(tp.occasion) || tp.occasion) : h('span', { class: 'badge' }, t('tpl.occasion.any')),
        tp.active ? null : h('span', { class: 'badge' }, t('tpl.inactive')), h('div', { class: 'muted' }, tp.body)),
      may ? h('div', { class: 'actions' },
        tool(t('common.edit'), `${t('common.edit')} ${tp.name}`, () => clear(li).append(templateForm(app, tp, occasions, () => app.refresh()))),
        tool(t('tpl.delete'), `${t('tpl.delete')} ${tp.name}`, async () => {
          if (!window.confirm(t('tpl.delete.confirm', { name: tp.name }))) return;
          try { await api(`/care/templates/${tp.id}`, { method: 'DELETE' }); toast(t('tpl.deleted')); app.refresh(); } catch (e) { msg.append(alertBox(errorText(e))); }
        })) : null));
    show();
    items.append(li);
  }
  if (!r.items.length) items.append(h('li', { class: 'muted' }, t('tpl.none')));
  const placeholders = h('ul', { class: 'placeholders', 'data-testid': 'placeholders' }, (r.placeholders || []).map((p) => h('li', {},
    h('code', {}, `{${p.alias_zh}}`), ' / ', h('code', {}, `{${p.name}}`), ' ', t(`tpl.ph.${p.name}`))));
  return h('div', { class: 'grid-2' },
    card(t('tpl.title'), h('p', { class: 'muted' }, t('tpl.default'), ' ', r.default), msg, items,
      may ? h('div', {}, h('h3', {}, t('tpl.add')), templateForm(app, null, occasions, () => app.refresh())) : null),
    card(t('tpl.placeholders'), h('p', { class: 'muted' }, t('tpl.signature')), placeholders));
}

export async function admin(app, { id: which, params }) {
  const tabs = TABS.filter(([, , ok]) => ok(app));
  const current = tabs.find(([k]) => k === which)?.[0] || 'users';
  const nav = h('nav', { 'aria-label': t('adm.sections') }, h('ul', { class: 'tabs' }, tabs.map(([k, text]) => h('li', {},
    h('a', { href: `#/admin/${k}`, 'aria-current': k === current ? 'page' : null, 'data-tab': k }, t(text))))));
  let body;
  if (current === 'users') body = await usersTab(app);
  else if (current === 'roles') body = await rolesTab();
  else if (current === 'fields') body = fieldsTab(app, (await api('/custom-fields')).fields || []);
  else if (current === 'pool') body = await poolTab(app);
  else if (current === 'care') body = await careTab(app);
  else if (current === 'templates') body = await templatesTab(app);
  else body = await auditTab(app, params);
  return h('div', { class: 'page' }, h('h1', {}, t('adm.title')), nav, body);
}
