// Logging in, the one-time password's change, the user in the header and
// logging out. The login form stands in for the screen until a session exists
// (GET /api/v1/session answers 401 without one), and comes back over it when
// the session ends; its language switch works like the screen's.
import * as api from './api.js';
import { t, getLang, setLang, onLangChange } from './i18n.js';
import { $ } from './dom.js';

/** Shows a message (an i18n key, so a language switch re-labels it) in box; '' hides it. */
function say(box, key, vars) {
  box.hidden = !key;
  if (!key) { delete box.dataset.i18n; box.textContent = ''; return; }
  if (vars) { delete box.dataset.i18n; box.textContent = t(key, vars); return; }
  box.dataset.i18n = key;
  box.textContent = t(key);
}

/** The message for a failed login: one for a wrong name or password alike, never which. */
function loginProblem(err) {
  if (err?.status === 401) return 'loginWrong';
  if (err?.status === 429) return 'loginTooMany';
  return 'loginFailed';
}

/** The message for a refused password change. */
function passwordProblem(err) {
  if (err?.status === 401) return ['pwWrongCurrent'];
  const m = err?.serverMessage ?? '';
  const least = /at least (\d+)/.exec(m);
  if (err?.status === 400 && least) return ['pwTooShort', { n: least[1] }];
  if (err?.status === 400 && /differ/.test(m)) return ['pwSame'];
  if (err?.status === 400 && /at most/.test(m)) return ['pwTooLong'];
  return ['pwFailed'];
}

let shown = null; // the form on screen: 'login', 'password' or null

/** Which form stands in for the screen ('login', 'password') or null. */
export const showing = () => shown;

function show(which, note) {
  shown = which;
  document.body.classList.toggle('locked', !!which);
  $('auth').hidden = !which;
  $('login-form').hidden = which !== 'login';
  $('password-form').hidden = which !== 'password';
  if (which === 'login') {
    say($('login-note'), note ?? '');
    say($('login-error'), '');
    $('login-password').value = '';
    const name = $('login-name');
    (name.value ? $('login-password') : name).focus();
  }
  if (which === 'password') {
    say($('password-error'), '');
    for (const id of ['pw-old', 'pw-new', 'pw-repeat']) $(id).value = '';
    $('pw-old').focus();
  }
}

/**
 * Shows the login form (with an optional note, an i18n key) and resolves to the
 * session once a user has logged in and, where the server asks for it, changed
 * their one-time password.
 */
export function logIn(note) {
  show('login', note);
  return new Promise((resolve) => {
    const form = $('login-form');
    const busy = (on) => { for (const e of form.elements) e.disabled = on; };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const name = $('login-name').value.trim();
      const password = $('login-password').value;
      say($('login-error'), '');
      if (!name || !password) return say($('login-error'), 'loginWrong');
      busy(true);
      let s;
      try {
        s = await api.login(name, password);
      } catch (err) {
        busy(false);
        $('login-password').value = '';
        $('login-password').focus();
        return say($('login-error'), loginProblem(err));
      }
      busy(false);
      form.onsubmit = null;
      resolve(s.must_change_password ? changePassword(password) : s);
    };
  });
}

/**
 * Shows the change-password form (the one-time password filled in when the
 * page has just logged in with it) and resolves to the session afterwards. Its
 * other button logs out instead.
 */
export function changePassword(current) {
  show('password');
  if (current) { $('pw-old').value = current; $('pw-new').focus(); }
  return new Promise((resolve) => {
    const form = $('password-form');
    const busy = (on) => { for (const e of form.elements) e.disabled = on; };
    $('pw-logout').onclick = () => logOut();
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const old = $('pw-old').value;
      const neu = $('pw-new').value;
      say($('password-error'), '');
      if (neu !== $('pw-repeat').value) return say($('password-error'), 'pwMismatch');
      busy(true);
      try {
        await api.changePassword(old, neu);
      } catch (err) {
        busy(false);
        if (err.status === 401 && err.code !== 'bad_credentials') return; // the session ended: the login form is back
        const [key, vars] = passwordProblem(err);
        return say($('password-error'), key, vars);
      }
      const s = await api.session().catch(() => null);
      busy(false);
      if (!s) return; // ended meanwhile: whenUnauthorized brings the login form
      form.onsubmit = null;
      resolve(s);
    };
  });
}

/** Hides the forms: the screen is the user's. */
export function done() { show(null); }

/**
 * Puts the user (display name and roles) and the logout control in the header;
 * an anonymous visitor of a server with a public scope (via "public") gets a
 * login button instead.
 */
export function renderUser(s) {
  const box = $('user');
  box.hidden = !s;
  if (!s) return;
  const visitor = s.via === 'public';
  $('user-name').textContent = visitor ? t('publicVisitor') : s.display_name || s.name;
  $('user-name').title = visitor ? '' : s.name;
  $('user-role').hidden = visitor;
  $('user-role').textContent = (s.roles ?? []).map((r) => t('role_' + r)).join(' · ');
  $('user-role').dataset.roles = (s.roles ?? []).join(',');
  $('logout').hidden = visitor;
  $('login-open').hidden = !visitor;
}

/** Logs out and starts the page again, so nothing of the session stays in memory. */
export async function logOut() {
  await api.logout().catch((err) => console.warn('logout:', err.message));
  location.reload();
}

/** Wires the form's language switch and the header's logout button (once). */
export function wire() {
  const lang = $('auth-lang');
  const label = () => { lang.textContent = getLang() === 'zh' ? 'EN' : '中文'; };
  label();
  onLangChange(label);
  lang.addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  $('logout').addEventListener('click', () => logOut());
  // A visitor who logs in gets the page started afresh, as their own screen.
  $('login-open').addEventListener('click', () => logIn().then(() => location.reload()));
}
