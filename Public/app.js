// Vigil's pages: first-run setup, sign-in, then the operator's pages, one per address after `#`
// (so the browser's back button and bookmarks work). A session that ends (expired, signed out
// elsewhere) brings back the sign-in form, and the page asked for once signed in again.

import { auditLog, jobAdmin, keyAdmin, userAdmin } from "./js/admin.js";
import { alertInbox } from "./js/alerts.js";
import { cameraList, cameraPage } from "./js/cameras.js";
import { api, el, errorMessage, field, form, main, onSessionEnded } from "./js/core.js";
import { eventDetail, eventList } from "./js/events.js";
import { LiveFeed } from "./js/live.js";
import { overview } from "./js/overview.js";
import { clusterList, modelList, personList, personPage, watchlistList } from "./js/people.js";
import { channelList, ruleList } from "./js/rules.js";

const who = document.getElementById("who");
const nav = document.getElementById("nav");
const live = new LiveFeed(document.getElementById("live-state"));

/** Address patterns and their pages; the first match wins. */
const ROUTES = [
  [/^$/, overview],
  [/^events$/, eventList],
  [/^events\/([0-9a-fA-F-]{36})$/, eventDetail],
  [/^alerts$/, alertInbox],
  [/^cameras$/, cameraList],
  [/^cameras\/([0-9a-fA-F-]{36})$/, cameraPage],
  [/^people$/, personList],
  [/^people\/clusters$/, clusterList],
  [/^people\/watchlists$/, watchlistList],
  [/^people\/models$/, modelList],
  [/^people\/([0-9a-fA-F-]{36})$/, personPage],
  [/^rules$/, ruleList],
  [/^rules\/channels$/, channelList],
  [/^admin$/, userAdmin],
  [/^admin\/keys$/, keyAdmin],
  [/^admin\/audit$/, auditLog],
  [/^admin\/jobs$/, jobAdmin],
];

let me = null;
let leavePage = null;
let rendering = 0;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!me) return;
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const match = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([found]) => found);
  leavePage?.();
  leavePage = null;
  for (const link of nav.querySelectorAll("a")) {
    const target = link.getAttribute("href").replace(/^#\/?/, "");
    link.toggleAttribute("aria-current", target === "" ? path === "" : path === target || path.startsWith(`${target}/`));
  }
  if (!match) {
    main.replaceChildren(el("h1", {}, "Not found"), el("p", {}, "Nothing lives at this address. ", el("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  const [found, page] = match;
  const ticket = ++rendering;
  main.setAttribute("aria-busy", "true");
  try {
    const leave = await page({ id: found[1], params: new URLSearchParams(search), live, navigate, me });
    // A page left before it finished loading is stopped at once.
    if (ticket !== rendering) leave?.();
    else leavePage = leave ?? null;
  } catch (failure) {
    main.replaceChildren(el("h1", {}, "Something went wrong"), el("p", { class: "error" }, `This page could not load (${failure.message}).`));
  } finally {
    if (ticket === rendering) main.removeAttribute("aria-busy");
  }
  if (ticket === rendering) {
    main.querySelector("h1")?.focus({ preventScroll: true });
    // For measuring how long pages take to show (the UI benchmark reads these marks).
    performance.mark(`vigil:ready:${path.split("/")[0] || "overview"}`);
  }
}

function showSetup() {
  signedOut();
  main.replaceChildren(form({
    title: "Create the first administrator",
    hint: "Nobody can use this Vigil yet. The token proves you can read its log.",
    fields: [field("Setup token (printed in Vigil's log)", "setup_token", { autocomplete: "off", required: true }),
             field("User name", "username", { autocomplete: "username", required: true }),
             field("Email", "email", { type: "email", autocomplete: "email", required: true }),
             field("Password (10 characters or more)", "password", { type: "password", autocomplete: "new-password", required: true })],
    action: "Create administrator",
    submit: async (values, fail) => {
      const reply = await api("POST", "/setup", values);
      if (reply.status !== 201) return fail(errorMessage(reply));
      showSignIn("The administrator exists; sign in.");
    },
  }));
  main.querySelector("input")?.focus();
}

function showSignIn(note) {
  signedOut();
  const signIn = form({
    title: "Sign in",
    hint: note,
    fields: [field("User name or email", "login", { autocomplete: "username", required: true }),
             field("Password", "password", { type: "password", autocomplete: "current-password", required: true })],
    action: "Sign in",
    submit: async (values, fail) => {
      const body = { login: values.login, password: values.password };
      if (values.totp_code) body.totp_code = values.totp_code;
      const reply = await api("POST", "/auth/login", body);
      if (reply.status === 200) return start();
      if (reply.body?.error?.code === "mfa_required" && !signIn.querySelector("[name=totp_code]")) {
        signIn.querySelector("button").before(field("Code from your authenticator app", "totp_code",
                                                    { inputmode: "numeric", autocomplete: "one-time-code" }));
      }
      fail(errorMessage(reply));
    },
  });
  main.replaceChildren(signIn);
  main.querySelector("input")?.focus();
}

function signedOut() {
  me = null;
  live.stop();
  leavePage?.();
  leavePage = null;
  who.replaceChildren();
  nav.hidden = true;
}

async function start() {
  const reply = await api("GET", "/auth/me");
  if (reply.status !== 200) return showSignIn();
  me = reply.body;
  const signOut = el("button", { class: "plain", type: "button", onclick: async () => {
    await api("POST", "/auth/logout");
    showSignIn("Signed out.");
  } }, "Sign out");
  who.replaceChildren(el("span", {}, `${me.name} (${me.role})`), signOut);
  // Pages the role cannot use are not offered (the API refuses them anyway).
  const permissions = new Set(me.permissions ?? []);
  for (const link of nav.querySelectorAll("a[data-needs]")) link.hidden = !permissions.has(link.dataset.needs);
  nav.hidden = false;
  live.start();
  await route();
}

onSessionEnded((message) => { if (me) showSignIn(message); });
// A feed that keeps failing may mean the session is over: asking who we are finds out.
live.on("down", () => { if (me) api("GET", "/auth/me"); });
window.addEventListener("hashchange", route);

document.getElementById("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "light" ? "dark" : "light";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("vigil-theme", next);
});
document.documentElement.dataset.theme = localStorage.getItem("vigil-theme") ?? "dark";

const setup = await api("GET", "/setup");
if (setup.body?.setup_required) showSetup(); else start();
