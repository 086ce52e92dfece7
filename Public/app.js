// Vigil's pages: first-run setup, sign-in and the overview. Everything shown comes from the API
// and is put in the page as text (never as HTML), so nothing a camera name or a user holds runs.

const app = document.getElementById("app");
const who = document.getElementById("who");

/** Calls the API with the session cookie; resolves to {status, body}. */
async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, options);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  return { status: response.status, body: parsed };
}

/** An element with text and attributes; children are elements or strings (as text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function field(label, name, type = "text", extra = {}) {
  const id = `field-${name}`;
  return [el("label", { for: id }, label), el("input", { id, name, type, required: "", ...extra })];
}

function errorMessage(reply) {
  return reply.body?.error?.message ?? `Vigil answered ${reply.status}.`;
}

/** A form whose submission calls `submit(values)`; its error line shows what went wrong. */
function form(title, fields, action, submit, hint) {
  const error = el("p", { class: "error", role: "alert" });
  const node = el("form", { class: "card", novalidate: "" }, el("h1", {}, title), ...(hint ? [el("p", { class: "hint" }, hint)] : []),
                  ...fields.flat(), el("button", { type: "submit" }, action), error);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const values = Object.fromEntries(new FormData(node).entries());
    try {
      await submit(values, (message) => { error.textContent = message; });
    } catch (failure) {
      error.textContent = `Vigil cannot be reached (${failure.message}).`;
    }
  });
  return node;
}

function showSetup() {
  who.replaceChildren();
  app.replaceChildren(form("Create the first administrator", [
    field("Setup token (printed in Vigil's log)", "setup_token", "text", { autocomplete: "off" }),
    field("User name", "username", "text", { autocomplete: "username" }),
    field("Email", "email", "email", { autocomplete: "email" }),
    field("Password (10 characters or more)", "password", "password", { autocomplete: "new-password" }),
  ], "Create administrator", async (values, fail) => {
    const reply = await api("POST", "/setup", values);
    if (reply.status !== 201) return fail(errorMessage(reply));
    showSignIn("The administrator exists; sign in.");
  }, "Nobody can use this Vigil yet. The token proves you can read its log."));
  app.querySelector("input")?.focus();
}

function showSignIn(note) {
  who.replaceChildren();
  const signIn = form("Sign in", [
    field("User name or email", "login", "text", { autocomplete: "username" }),
    field("Password", "password", "password", { autocomplete: "current-password" }),
  ], "Sign in", async (values, fail) => {
    const body = { login: values.login, password: values.password };
    if (values.totp_code) body.totp_code = values.totp_code;
    const reply = await api("POST", "/auth/login", body);
    if (reply.status === 200) return showOverview();
    if (reply.body?.error?.code === "mfa_required" && !signIn.querySelector("[name=totp_code]")) {
      signIn.querySelector("button").before(...field("Code from your authenticator app", "totp_code", "text",
                                                     { inputmode: "numeric", autocomplete: "one-time-code" }));
    }
    fail(errorMessage(reply));
  }, note);
  app.replaceChildren(signIn);
  app.querySelector("input")?.focus();
}

async function showOverview() {
  const me = await api("GET", "/auth/me");
  if (me.status !== 200) return showSignIn(me.status === 401 ? "Your session has ended; sign in again." : undefined);
  const signOut = el("button", { class: "plain", type: "button" }, "Sign out");
  signOut.addEventListener("click", async () => {
    await api("POST", "/auth/logout");
    showSignIn("Signed out.");
  });
  who.replaceChildren(el("span", {}, `${me.body.name} (${me.body.role})`), signOut);

  const [stats, cameras] = await Promise.all([api("GET", "/stats/dashboard"), api("GET", "/cameras?limit=500")]);
  const figures = el("section", { class: "stats", "aria-label": "Today" });
  const labels = { events_today: "Events today", high_risk_today: "High risk today", humans_today: "People today",
                   recognized_today: "Recognized today", unreviewed_events: "Not reviewed", online_cameras: "Cameras online",
                   offline_cameras: "Cameras offline" };
  for (const [key, label] of Object.entries(labels)) {
    const value = stats.body?.[key];
    if (value !== undefined && value !== null) figures.append(el("div", { class: "card stat" }, el("strong", {}, value), label));
  }
  const list = el("ul", { class: "cameras", "aria-label": "Cameras" });
  for (const camera of cameras.body?.items ?? []) {
    const state = camera.status ?? "unknown";
    list.append(el("li", { class: "card" }, el("div", {}, camera.name),
                   el("span", { class: `status ${state}` }, state),
                   camera.last_seen_at ? el("div", { class: "hint" }, `last seen ${new Date(camera.last_seen_at).toLocaleString()}`) : ""));
  }
  if (!list.children.length) list.append(el("li", { class: "hint" }, "No camera yet."));
  app.replaceChildren(el("h1", {}, "Overview"), figures, el("h1", {}, "Cameras"), list);
}

const setup = await api("GET", "/setup");
if (setup.body?.setup_required) showSetup(); else showOverview();
