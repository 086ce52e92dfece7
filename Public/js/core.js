// What every page shares: the API client, elements built from data as text (never as HTML, so
// nothing a camera name or a note holds can run), and a few formatters.

export const main = document.getElementById("app");

let sessionEnded = () => {};
/** Called with a message when the API says the session is over (expired, signed out elsewhere). */
export function onSessionEnded(handler) { sessionEnded = handler; }

/** Calls the API with the session cookie; resolves to {status, body}. */
export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, options);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (response.status === 401 && !path.startsWith("/auth/login") && !path.startsWith("/setup")) {
    sessionEnded("Your session has ended; sign in again.");
  }
  return { status: response.status, body: parsed };
}

/** The API's own message for a refusal, or a plain one. */
export function errorMessage(reply) {
  const error = reply.body?.error;
  if (!error) return `Vigil answered ${reply.status}.`;
  const details = (Array.isArray(error.details) ? error.details : [])
    .map((d) => (d.field && !String(d.message).includes(d.field) ? `${d.field}: ${d.message}` : d.message)).filter(Boolean);
  return [error.message, ...details].join(" ");
}

/**
 * An element: attributes (functions become listeners: `onclick`), then children, which are
 * elements or anything else shown as text. false, null and undefined are left out.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  assign(node, attributes);
  append(node, children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
/** An SVG element (boxes over frames, zone outlines). */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  assign(node, attributes);
  append(node, children);
  return node;
}

function assign(node, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === false || child === null || child === undefined || child === "") continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A labelled input; `options` makes it a select. */
export function field(label, name, { type = "text", value, options, required = false, ...extra } = {}) {
  const id = `field-${name}-${++fieldCount}`;
  let input;
  if (options) {
    input = el("select", { id, name, required, ...extra },
               options.map(([optionValue, text]) => el("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, text)));
  } else if (type === "textarea") {
    input = el("textarea", { id, name, required, rows: 3, ...extra }, value ?? "");
  } else if (type === "checkbox") {
    input = el("input", { id, name, type, checked: Boolean(value), ...extra });
    return el("label", { class: "check", for: id }, input, label);
  } else {
    input = el("input", { id, name, type, required, value: value ?? undefined, ...extra });
  }
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}
let fieldCount = 0;

/**
 * A form whose submission calls `submit(values, fail)`; `fail(message)` shows what went wrong
 * in the form's alert line. The button is disabled while the call runs.
 */
export function form({ title, hint, fields, action, submit, className = "card" }) {
  const error = el("p", { class: "error", role: "alert" });
  const button = el("button", { type: "submit" }, action);
  const node = el("form", { class: className, novalidate: true }, title ? el("h2", {}, title) : null,
                  hint ? el("p", { class: "hint" }, hint) : null, fields, button, error);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      await submit(values(node), (message) => { error.textContent = message; });
    } catch (failure) {
      error.textContent = `Vigil cannot be reached (${failure.message}).`;
    } finally {
      button.disabled = false;
    }
  });
  return node;
}

/** A form's values: checkboxes as booleans, empty text as absent. */
export function values(formNode) {
  const result = {};
  for (const input of formNode.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.type === "checkbox") result[input.name] = input.checked;
    else if (input.type === "file") continue;
    else if (input.value.trim() !== "") result[input.name] = input.value.trim();
  }
  return result;
}

/** A short status line that disappears by itself. */
export function notify(message, kind = "info") {
  const line = el("div", { class: `toast ${kind}`, role: "status" }, message);
  document.body.append(line);
  setTimeout(() => line.remove(), 4000);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function ago(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** "human_detected" -> "Human detected". */
export function words(code) {
  const text = String(code ?? "").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A coloured badge for a risk level or a severity. */
export function level(value) {
  return value ? el("span", { class: `level ${value}` }, value) : "";
}

export function heading(text, ...actions) {
  return el("div", { class: "heading" }, el("h1", { tabindex: "-1" }, text), actions.length ? el("div", { class: "actions" }, actions) : null);
}

/** A query string from the filled-in entries of `params`. */
export function query(params) {
  const entries = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return entries.length ? `?${new URLSearchParams(entries)}` : "";
}

/** An ISO time as a datetime-local input's value, in the browser's time zone. */
export function localInput(iso) {
  if (!iso) return undefined;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A filter form's filled-in values, times as ISO instants: what a list's address carries. */
export function filterValues(formNode) {
  const chosen = {};
  for (const input of formNode.querySelectorAll("[name]")) {
    const value = input.value.trim();
    if (value) chosen[input.name] = input.type === "datetime-local" ? new Date(value).toISOString() : value;
  }
  return chosen;
}

/**
 * A table filled a page at a time: each page asks `path` for what follows the last row shown
 * (keyset), "Show more" asks for the next, and `describe(shown, more)` says what is on screen.
 * Resolves to the table, its status line and its button once the first page is in.
 */
export async function pagedTable({ path, params, limit, headings, className, row, describe }) {
  const rows = el("tbody");
  const status = el("p", { class: "hint", role: "status" });
  const more = el("button", { type: "button", class: "plain", hidden: true }, "Show more");
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    const reply = await api("GET", `${path}${query({ ...params, limit, after: cursor })}`);
    more.disabled = false;
    if (reply.status !== 200) {
      status.textContent = errorMessage(reply);
      return;
    }
    const batch = document.createDocumentFragment();
    for (const item of reply.body.items) batch.append(row(item));
    rows.append(batch);
    cursor = reply.body.next_cursor ?? null;
    more.hidden = !cursor;
    status.textContent = describe(rows.children.length, Boolean(cursor));
  };
  more.addEventListener("click", load);
  await load();
  return [el("div", { class: "table-wrap" },
             el("table", { class: className }, el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))), rows)),
          status, more];
}
