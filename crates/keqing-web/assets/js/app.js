// The workbench shell: log-in state, navigation, the quick search (press "/"
// and type a name, pinyin initials or a phone ending), and the hash router
// (#/dashboard, #/day, #/performance, #/customers, #/import, #/analysis,
// #/compliance, #/admin, #/account). Directors and administrators land on
// the dashboard, everyone else on their day.
import { api, whenSessionEnds } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { h, clear, errorText, alertBox, id } from './ui.js';
import * as pages from './pages.js';
import { grantsOf, allows } from './access.js';

const app = {
  user: null,
  users: new Map(),
  teams: [],
  care: false,
  /** Display name of a user id; `known` is the name an answer gave with it. */
  userName(uid, known) {
    if (uid === null || uid === undefined) return t('common.pool');
    return app.users.get(uid)?.display_name || known || `#${uid}`;
  },
  /** The user's grants (GET /roles): "resource.action" → scope. */
  grants: new Map(),
  /** Whether the user may do `action` on `resource` (on `row`, a customer, when given). */
  can(resource, action, row) { return allows(app.grants, app.user, resource, action, row); },
  /** The user's scope for `resource` and `action` (own, team, region, all), or undefined. */
  scope(resource, action) { return app.grants.get(`${resource}.${action}`); },
  isSupervisor() { return ['supervisor', 'director', 'admin'].includes(app.user?.role); },
  isAdmin() { return app.user?.role === 'admin'; },
  /** Where the user lands: directors and administrators on the company's numbers, the rest on their day. */
  home() { return ['director', 'admin'].includes(app.user?.role) ? '#/dashboard' : '#/day'; },
  /** Whether the user may read performance figures (every role but service agents). */
  seesPerformance() { return !!app.user && app.user.role !== 'agent'; },
  /** Whether the user gets the dashboard: those who read more than their own figures. */
  seesDashboard() { return ['director', 'admin', 'finance', 'supervisor'].includes(app.user?.role); },
  go(hash) { location.hash = hash; },
  refresh() { render(); },
};

const FLASH = 'keqing.flash';

whenSessionEnds((e) => {
  if (!app.user) return;
  app.user = null;
  sessionStorage.setItem(FLASH, e.code === 'session_expired' ? t('login.expired') : t('err.unauthorized'));
  location.hash = '#/login';
});

async function loadSession() {
  try {
    app.user = await api('/auth/me');
  } catch {
    app.user = null;
    return;
  }
  const [users, teams, roles] = await Promise.allSettled([api('/users'), api('/teams'), api('/roles')]);
  app.grants = grantsOf(roles.value, app.user.role);
  app.users = new Map((users.value?.items || []).map((u) => [u.id, u]));
  app.users.set(app.user.id, app.user);
  app.teams = teams.value?.items || [];
  // Care tasks are worked by customer managers and watched by those above
  // them; finance and service agents read customers but have no care tasks.
  app.care = ['manager', 'supervisor', 'director', 'admin'].includes(app.user.role);
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(query) };
}

const NAV = [
  ['dashboard', 'nav.dashboard', () => app.seesDashboard()],
  ['day', 'nav.day', () => true],
  ['performance', 'nav.performance', () => app.seesPerformance()],
  ['customers', 'nav.customers', () => true],
  ['import', 'nav.import', () => app.care],
  ['analysis', 'nav.analysis', () => app.user?.role !== 'agent'],
  ['compliance', 'nav.compliance', () => app.isSupervisor() && app.care],
  ['team-pay', 'nav.teampay', () => ['supervisor', 'admin'].includes(app.user?.role)],
  ['pay', 'nav.pay', () => ['finance', 'admin', 'director'].includes(app.user?.role)],
  ['admin', 'nav.admin', () => app.isSupervisor()],
];

function langButton() {
  return h('button', {
    type: 'button', class: 'btn btn-ghost', lang: getLang() === 'en' ? 'zh-CN' : 'en',
    'aria-label': t('nav.lang.label'),
    onclick: () => { setLang(getLang() === 'en' ? 'zh-CN' : 'en'); render(); },
  }, t('nav.lang'));
}

function quickSearch() {
  const listId = id('qs');
  const input = h('input', {
    type: 'search', id: 'quick-search', autocomplete: 'off', role: 'combobox',
    'aria-expanded': 'false', 'aria-controls': listId, 'aria-autocomplete': 'list',
    placeholder: t('search.placeholder'),
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'qs-list', hidden: true });
  let items = [];
  let active = -1;
  let seq = 0;
  const show = () => {
    clear(list);
    list.hidden = !input.value.trim();
    input.setAttribute('aria-expanded', String(!list.hidden));
    if (!items.length) {
      list.append(h('li', { class: 'qs-empty' }, t('search.none')));
      return;
    }
    items.forEach((c, i) => {
      const li = h('li', {
        role: 'option', id: `${listId}-${i}`, 'aria-selected': String(i === active),
        class: i === active ? 'active' : '',
        onmousedown: (ev) => { ev.preventDefault(); open(i); },
      }, h('strong', {}, c.name), ' ', h('span', { class: 'muted' }, [c.city, c.phone].filter(Boolean).join(' · ')));
      list.append(li);
    });
    input.setAttribute('aria-activedescendant', active >= 0 ? `${listId}-${active}` : '');
  };
  const open = (i) => {
    const c = items[i];
    if (!c) return;
    input.value = '';
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    app.go(`#/customers/${c.id}`);
  };
  let timer;
  let shownFor = '';
  const search = async (q) => {
    const mine = ++seq;
    try {
      const r = await api(`/customers?per_page=8&q=${encodeURIComponent(q)}`);
      if (mine !== seq) return;
      items = r.items;
      shownFor = q;
      active = items.length ? 0 : -1;
      show();
    } catch { /* the list just stays as it was */ }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { items = []; shownFor = ''; list.hidden = true; return; }
    timer = setTimeout(() => search(q), 120);
  });
  input.addEventListener('keydown', async (ev) => {
    if (ev.key === 'ArrowDown' && items.length) { active = (active + 1) % items.length; show(); ev.preventDefault(); }
    else if (ev.key === 'ArrowUp' && items.length) { active = (active - 1 + items.length) % items.length; show(); ev.preventDefault(); }
    else if (ev.key === 'Enter') {
      ev.preventDefault();
      const q = input.value.trim();
      // Enter before the list arrived: search now and open the first hit.
      if (q && q !== shownFor) { clearTimeout(timer); await search(q); }
      open(Math.max(active, 0));
    } else if (ev.key === 'Escape') { list.hidden = true; input.blur(); }
  });
  input.addEventListener('blur', () => setTimeout(() => { list.hidden = true; }, 150));
  return h('div', { class: 'qs', role: 'search' },
    h('label', { for: 'quick-search', class: 'sr-only' }, t('search.label')), input, list);
}

function shell(current) {
  const nav = h('nav', { class: 'nav', 'aria-label': t('nav.menu') },
    h('ul', {}, NAV.filter(([, , ok]) => ok()).map(([key, label]) =>
      h('li', {}, h('a', { href: `#/${key}`, 'aria-current': current === key ? 'page' : null }, t(label))))));
  const header = h('header', { class: 'top' },
    h('a', { href: app.home(), class: 'brand' }, t('app.name')),
    nav,
    quickSearch(),
    h('div', { class: 'who' },
      userMenu(),
      langButton(),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: logout }, t('nav.logout'))));
  return header;
}

/** The account menu under the user's name: 修改密码, for every role. */
function userMenu() {
  const menu = h('details', { class: 'user-menu' },
    h('summary', { 'data-testid': 'whoami', title: t('acct.menu') }, app.user.display_name),
    h('ul', { class: 'user-menu-list' },
      h('li', {}, h('a', { href: '#/account', 'data-testid': 'menu-password' }, t('acct.password')))));
  menu.addEventListener('click', (ev) => { if (ev.target.closest('a')) menu.open = false; });
  menu.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && menu.open) { menu.open = false; menu.querySelector('summary').focus(); }
  });
  return menu;
}

async function logout() {
  try { await api('/auth/logout', { method: 'POST' }); } catch { /* ended anyway */ }
  app.user = null;
  sessionStorage.setItem(FLASH, t('login.loggedout'));
  location.hash = '#/login';
}

function loginPage(root) {
  const flash = sessionStorage.getItem(FLASH);
  sessionStorage.removeItem(FLASH);
  const msg = h('div', { class: 'login-msg', 'aria-live': 'polite' }, flash ? alertBox(flash, 'info') : null);
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, id: 'login-user' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'login-pass' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, t('login.submit'));
  const form = h('form', {
    class: 'login', onsubmit: async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      clear(msg);
      try {
        await api('/auth/login', { method: 'POST', body: { username: user.value.trim(), password: pass.value } });
        await loadSession();
        location.hash = app.home();
      } catch (e) {
        msg.append(alertBox(errorText(e)));
        pass.select();
      } finally {
        btn.disabled = false;
      }
    },
  },
  h('h1', {}, t('login.title')),
  msg,
  h('div', { class: 'field' }, h('label', { for: 'login-user' }, t('login.username')), user),
  h('div', { class: 'field' }, h('label', { for: 'login-pass' }, t('login.password')), pass),
  btn);
  root.append(h('main', { id: 'main', class: 'login-page' },
    h('div', { class: 'login-top' }, h('span', { class: 'brand' }, t('app.name')), langButton()), form));
  user.focus();
}

let renderSeq = 0;
let lastPage = null;
async function render() {
  const mine = ++renderSeq;
  const here = location.hash.split('?')[0];
  const navigated = lastPage !== null && lastPage !== here;
  lastPage = here;
  document.documentElement.lang = getLang();
  document.title = t('app.name');
  const root = document.getElementById('app');
  const { parts, params } = parseHash();
  const page = parts[0] || (app.user ? app.home().slice(2) : 'day');
  if (page === 'login' || !app.user) {
    if (page !== 'login') {
      location.hash = '#/login';
      return;
    }
    if (app.user) { location.hash = app.home(); return; }
    clear(root);
    loginPage(root);
    return;
  }
  clear(root);
  const main = h('main', { id: 'main', tabindex: '-1' });
  root.append(
    h('a', { href: '#main', class: 'skip', onclick: (ev) => { ev.preventDefault(); main.focus(); } }, t('app.skip')),
    shell(page), main);
  const view = {
    day: pages.day,
    customers: parts[1] ? pages.customer : pages.customers,
    import: pages.importer,
    admin: pages.admin,
    compliance: pages.compliance,
    account: pages.account,
    analysis: app.user.role !== 'agent' ? pages.analysis : null,
    pay: app.scope('pay', 'read') ? pages.pay : null,
    'team-pay': app.scope('pay', 'read') ? pages.teamPay : null,
    performance: app.seesPerformance() ? pages.performance : null,
    dashboard: app.seesDashboard() ? pages.dashboard : null,
  }[page];
  if (!view) { location.hash = app.home(); return; }
  main.append(h('p', { class: 'muted' }, t('common.loading')));
  try {
    const content = await view(app, { id: parts[1], params });
    if (mine !== renderSeq) return;
    clear(main).append(content);
    // After moving to another page, the keyboard starts in its content.
    if (navigated) main.focus({ preventScroll: true });
  } catch (e) {
    if (mine !== renderSeq) return;
    clear(main).append(alertBox(errorText(e)));
  }
}

document.addEventListener('keydown', (ev) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName) || document.activeElement?.isContentEditable;
  if (ev.key === '/' && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    const q = document.getElementById('quick-search');
    if (q) { ev.preventDefault(); q.focus(); }
  }
});

window.addEventListener('hashchange', render);
setLang(getLang());
loadSession().then(render);
