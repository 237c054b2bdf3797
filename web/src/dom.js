// Small DOM helpers every part of the page builds with: textContent and
// attributes only, never HTML from data.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * A new element: attrs are attributes (class, dataset, on<event> listeners;
 * null and false left out, true as an empty attribute), children nodes or text.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c != null) e.append(c);
  return e;
}
