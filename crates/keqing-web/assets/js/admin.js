// 管理: users, teams and the audit log.
import { api } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, field, select, card, alertBox, errorText, toast } from './ui.js';
import { dateTime } from './format.js';

const ROLES = ['manager', 'supervisor', 'director', 'finance', 'agent', 'admin'];

function usersCard(app, users, teams) {
  const teamName = new Map(teams.map((tm) => [tm.id, tm.name]));
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, ['adm.username', 'adm.display', 'adm.role', 'adm.team', 'adm.region', 'adm.active'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, users.map((u) => h('tr', {},
      h('td', {}, u.username), h('td', {}, u.display_name), h('td', {}, label('role', u.role)),
      h('td', {}, u.team_id ? teamName.get(u.team_id) || `#${u.team_id}` : '—'), h('td', {}, u.region || '—'),
      h('td', {}, u.active ? t('common.yes') : t('common.no')))))));
  if (!app.isAdmin()) return card(t('adm.users'), table);
  const msg = h('div', { 'aria-live': 'polite' });
  const f = {
    username: h('input', { required: true, autocomplete: 'off' }),
    display_name: h('input', {}),
    role: select(ROLES.map((r) => [r, label('role', r)]), 'manager'),
    team_id: select([['', '—'], ...teams.map((tm) => [tm.id, tm.name])], ''),
    region: h('input', {}),
    password: h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' }),
  };
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
            team_id: f.team_id.value ? Number(f.team_id.value) : null, region: f.region.value.trim() || null, password: f.password.value,
          },
        });
        toast(t('adm.created'));
        app.refresh();
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, msg, field(t('adm.username'), f.username), field(t('adm.display'), f.display_name), field(t('adm.role'), f.role),
  field(t('adm.team'), f.team_id), field(t('adm.region'), f.region), field(t('adm.password'), f.password),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('adm.adduser'))));
  return card(t('adm.users'), table, h('h3', {}, t('adm.adduser')), form);
}

function teamsCard(app, teams) {
  const list = h('ul', { class: 'list' }, teams.map((tm) => h('li', {}, tm.name, tm.region ? h('span', { class: 'muted' }, ` · ${tm.region}`) : null)));
  if (!app.isAdmin()) return card(t('adm.teams'), list);
  const msg = h('div', { 'aria-live': 'polite' });
  const name = h('input', { required: true });
  const region = h('input', {});
  const form = h('form', {
    class: 'form-grid',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      try {
        await api('/teams', { method: 'POST', body: { name: name.value.trim(), region: region.value.trim() || null } });
        toast(t('adm.created'));
        app.refresh();
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, msg, field(t('adm.teamname'), name), field(t('adm.region'), region),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('adm.addteam'))));
  return card(t('adm.teams'), list, form);
}

async function auditCard(app) {
  try {
    const r = await api('/audit?limit=50');
    return card(t('adm.audit'), h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['adm.at', 'adm.who', 'adm.action', 'adm.entity'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.items.map((a) => h('tr', {},
        h('td', {}, dateTime(a.at)), h('td', {}, a.user_id ? app.userName(a.user_id) : '—'), h('td', {}, a.action),
        h('td', {}, `${a.entity}${a.entity_id ? ` #${a.entity_id}` : ''}`)))))));
  } catch (e) {
    return e.status === 403 ? null : card(t('adm.audit'), alertBox(errorText(e)));
  }
}

/** Greeting templates (SPEC §4): every one must be signed "company name + personal name". */
async function templatesCard(app) {
  if (!app.care) return null;
  let r;
  try { r = await api('/care/templates'); } catch (e) { return card(t('tpl.title'), alertBox(errorText(e))); }
  const msg = h('div', { 'aria-live': 'polite' });
  const list = r.items.length
    ? h('ul', { class: 'list' }, r.items.map((tp) => h('li', { class: 'row' },
      h('div', {}, h('strong', {}, tp.name), tp.occasion ? h('span', { class: 'badge' }, tp.occasion) : null,
        tp.active ? null : h('span', { class: 'badge' }, t('tpl.inactive')), h('div', { class: 'muted' }, tp.body)),
      h('button', {
        type: 'button', class: 'btn btn-small', 'aria-label': `${t('tpl.delete')} ${tp.name}`,
        onclick: async () => {
          try { await api(`/care/templates/${tp.id}`, { method: 'DELETE' }); app.refresh(); } catch (e) { msg.append(alertBox(errorText(e))); }
        },
      }, t('tpl.delete')))))
    : h('p', { class: 'muted' }, t('tpl.none'));
  const name = h('input', { required: true });
  const occasion = h('input', { placeholder: 'spring_festival' });
  const body = h('textarea', { rows: 3, required: true }, r.default || '');
  const form = h('form', {
    class: 'form-grid',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clear(msg);
      try {
        await api('/care/templates', { method: 'POST', body: { name: name.value.trim(), occasion: occasion.value.trim() || null, body: body.value } });
        toast(t('adm.created'));
        app.refresh();
      } catch (e) { msg.append(alertBox(errorText(e))); }
    },
  }, msg, field(t('tpl.name'), name), field(t('tpl.occasion'), occasion, t('tpl.occasion.hint')),
  h('div', { class: 'field-wide' }, field(t('tpl.body'), body, t('tpl.body.hint'))),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('tpl.add'))));
  return card(t('tpl.title'), h('p', { class: 'muted' }, t('tpl.default'), ' ', r.default), list,
    ['admin', 'director', 'supervisor'].includes(app.user.role) ? form : null);
}

export async function admin(app) {
  const [users, teams] = await Promise.all([api('/users'), api('/teams')]);
  return h('div', { class: 'page' }, h('h1', {}, t('adm.title')),
    h('div', { class: 'grid-2' }, h('div', {}, usersCard(app, users.items, teams.items), await templatesCard(app)),
      h('div', {}, teamsCard(app, teams.items), await auditCard(app))));
}
