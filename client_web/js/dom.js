// Tiny DOM helpers. Data is only ever put into the page as text (textContent / text nodes /
// attribute values), never parsed as HTML.

/**
 * h("button", {class: "btn", text: "Ask", on: {click: fn}, "aria-label": "Ask"}, child...)
 * Children: nodes, strings (become text nodes), arrays, null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "class") el.className = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "style") for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(selector, root = document) {
  const el = root.querySelector(selector);
  if (el === null) throw new Error(`missing element ${selector}`);
  return el;
}

/**
 * Render `items` into `container`, reusing the element of an item whose key and version are
 * unchanged (so typed text and focus survive updates), rebuilding the others. An element that
 * held the focus is replaced by one whose [data-fk] matches, which then gets the focus back.
 */
export function keyed(container, items, keyOf, versionOf, build) {
  const old = new Map();
  for (const child of Array.from(container.children)) old.set(child.dataset.key, child);
  const active = document.activeElement;
  let refocus = null;
  const next = items.map((item) => {
    const key = String(keyOf(item));
    const version = versionOf(item);
    const existing = old.get(key);
    if (existing && existing.dataset.version === version) {
      old.delete(key);
      return existing;
    }
    const el = build(item);
    el.dataset.key = key;
    el.dataset.version = version;
    if (existing && active && existing.contains(active) && active.dataset.fk) {
      refocus = () => el.querySelector(`[data-fk="${CSS.escape(active.dataset.fk)}"]`)?.focus();
    }
    return el;
  });
  for (const el of old.values()) el.remove();
  next.forEach((el, i) => {
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] ?? null);
  });
  if (refocus) refocus();
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** A decorative icon (hidden from screen readers) followed by the text label. */
export function iconText(icon, text) {
  return [h("span", { class: "icon", "aria-hidden": "true", text: icon }), ` ${text}`];
}
