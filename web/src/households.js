// The households of the grid on screen, for those who serve them (capability
// households: grid workers, officers, administrators): flat, members, tags and
// the personal fields masked as stored (GET /api/v1/households). A user who may
// unmask (capability personal) may ask for a field's clear value by stating a
// reason; the server writes who, when, which household, which fields and why to
// the audit log before it answers (POST /api/v1/households/{id}/unmask). Clear
// values live only in this panel's DOM and go with it.
import * as api from './api.js';
import { t, num } from './i18n.js';
import { $, el } from './dom.js';

const FIELDS = ['head_name', 'phone', 'id_no'];

let shown = null; // {unit, canUnmask, ctrl, next, count}

/** Hides the panel and forgets what it showed (clear values included). */
export function hide() {
  shown?.ctrl.abort();
  shown = null;
  const box = $('households');
  box.hidden = true;
  box.replaceChildren();
}

/** Shows the households of unit (a grid or micro-grid code); canUnmask offers unmasking. */
export function show(unit, canUnmask) {
  if (shown?.unit === unit && shown.canUnmask === canUnmask) return;
  hide();
  const box = $('households');
  shown = { unit, canUnmask, ctrl: new AbortController(), next: null, count: 0 };
  box.dataset.unit = unit;
  box.hidden = false;
  box.append(
    el('div', { class: 'hhead' }, el('h2', {}, t('hhTitle')), el('span', { class: 'count', id: 'hh-count' }, '…')),
    canUnmask ? el('p', { class: 'audit-notice', id: 'hh-audit' }, t('auditNotice')) : null,
    el('ul', { id: 'hh-list' }),
    el('button', { type: 'button', id: 'hh-more', class: 'more', hidden: true, onclick: () => more() }, t('hhMore')),
  );
  more();
}

/** Re-labels the panel after a language switch (its rows keep their values). */
export function relabel() {
  if (!shown) return;
  const unit = shown.unit;
  const canUnmask = shown.canUnmask;
  hide();
  show(unit, canUnmask);
}

async function more() {
  const s = shown;
  const btn = $('hh-more');
  btn.hidden = true;
  let page;
  try {
    page = await api.households(s.unit, s.next, s.ctrl.signal);
  } catch (err) {
    if (err.name === 'AbortError' || s !== shown) return;
    $('hh-count').textContent = t('errorLoad');
    console.warn('households:', err.message);
    return;
  }
  if (s !== shown) return;
  const list = $('hh-list');
  for (const h of page?.households ?? []) list.append(row(h, s.canUnmask));
  s.count += page?.households?.length ?? 0;
  s.next = page?.next_cursor ?? null;
  $('hh-count').textContent = s.count ? `${num(s.count)}${s.next ? '+' : ''}` : t('hhNone');
  btn.hidden = !s.next;
}

function row(h, canUnmask) {
  const li = el('li', { dataset: { id: h.id } },
    el('div', { class: 'addr' }, h.address ?? ''),
    el('div', { class: 'meta' },
      el('span', {}, t('hhMembers', { n: h.members ?? '—' })),
      (h.tags ?? []).map((tag) => el('span', { class: 'tag' }, tag))),
    el('dl', {}, FIELDS.map((f) => [
      el('dt', {}, t('f_' + f)),
      el('dd', { dataset: { field: f } }, h[f] ?? '—'),
    ])));
  if (canUnmask && h.sealed) {
    li.append(el('button', { type: 'button', class: 'unmask', onclick: () => openForm(li, h) }, t('unmask')));
  }
  return li;
}

/** The unmasking form of one household: which fields, and why. */
function openForm(li, h) {
  li.querySelector('button.unmask')?.remove();
  const err = el('p', { class: 'err', role: 'alert', hidden: true });
  const reason = el('textarea', { name: 'reason', rows: 2, maxlength: 500, placeholder: t('unmaskReasonHint') });
  const form = el('form', { class: 'unmask-form' },
    el('fieldset', {}, el('legend', {}, t('unmaskFields')),
      FIELDS.map((f) => el('label', {}, el('input', { type: 'checkbox', name: 'field', value: f }), t('f_' + f)))),
    el('label', { class: 'reason' }, el('span', {}, t('unmaskReason')), reason),
    err,
    el('div', { class: 'actions' },
      el('button', { type: 'submit' }, t('unmaskSubmit')),
      el('button', { type: 'button', onclick: () => { form.remove(); li.append(el('button', { type: 'button', class: 'unmask', onclick: () => openForm(li, h) }, t('unmask'))); } }, t('cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = [...form.querySelectorAll('input[name=field]:checked')].map((i) => i.value);
    const why = reason.value.trim();
    const fail = (key) => { err.hidden = false; err.textContent = t(key); };
    if (!fields.length) return fail('unmaskPickField');
    if ([...why].length < 4) return fail('unmaskReasonShort');
    for (const e of form.elements) e.disabled = true;
    let out;
    try {
      out = await api.unmask(h.id, fields, why);
    } catch (e) {
      for (const x of form.elements) x.disabled = false;
      if (e.status === 401) return;
      return fail(e.status === 403 ? 'unmaskForbidden' : e.status === 503 ? 'unmaskNoKey' : e.status === 400 ? 'unmaskReasonShort' : 'unmaskFailed');
    }
    form.remove();
    for (const f of fields) {
      const dd = li.querySelector(`dd[data-field="${f}"]`);
      dd.textContent = out?.values?.[f] ?? t('unmaskNone');
      dd.classList.add('clear');
    }
    li.classList.add('unmasked');
    li.append(el('p', { class: 'audit-done' }, t('unmaskedNote')));
  });
  li.append(form);
  form.querySelector('input[name=field]').focus();
}
