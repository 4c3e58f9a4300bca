// Tiny DOM helpers: build elements from data without innerHTML, so catalog and case text is never parsed as HTML.

/**
 * Create an element. attrs: class, style (object), dataset (object), on<Event> handlers, and any attribute or
 * property (value, checked, disabled …). Children: nodes, strings, numbers, arrays; null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace every child of ``el``. */
export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** SVG element (namespaced), for the charts. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

export function fmtDate(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtDay(value) {
  return value ? String(value).slice(0, 10) : "";
}

/** A status banner: kind is info | ok | warn | error. */
export function banner(kind, ...children) {
  return h("div", { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

export function spinner(text = "加载中…") {
  return h("div", { class: "loading" }, h("span", { class: "spin" }), text);
}

export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint ? h("small", { class: "hint" }, hint) : null);
}

export function select(options, value, attrs = {}) {
  return h(
    "select",
    attrs,
    options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, label)),
  );
}

/** The workbench mark, drawn inline (no image request). */
export function logo(size = 24, inverse = false) {
  return svg(
    "svg",
    { viewBox: "0 0 32 32", width: size, height: size, "aria-hidden": "true", class: "logo" },
    svg("rect", { width: 32, height: 32, rx: 6, fill: inverse ? "#fff" : "#1d4f91" }),
    svg("path", { d: "M16 7c-3 0-5 2-5 4.6 0 3.6 5 7.4 5 7.4s5-3.8 5-7.4C21 9 19 7 16 7z", fill: inverse ? "#1d4f91" : "#fff" }),
    svg("path", { d: "M7 21h18v3H7z", fill: "#f0b429" }),
  );
}
