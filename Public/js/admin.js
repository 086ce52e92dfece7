// Administration: users with their roles and sites, API keys (the key shown once), the audit log
// with its filters, and the background jobs (retry, cancel).

import { api, el, errorMessage, field, filterValues, form, heading, localInput, main, notify, pagedTable, query, when, words } from "./core.js";

function tabs(current) {
  return el("nav", { class: "tabs", "aria-label": "Administration" },
    [["#/admin", "Users"], ["#/admin/keys", "API keys"], ["#/admin/audit", "Audit log"], ["#/admin/jobs", "Jobs"]]
      .map(([href, label]) => el("a", { href, "aria-current": href === current ? "page" : false }, label)));
}

export async function userAdmin({ navigate }) {
  const [users, roles, sites] = await Promise.all([api("GET", "/users?limit=500"), api("GET", "/roles"), api("GET", "/sites?limit=500")]);
  const roleOptions = (roles.body?.items ?? []).map((role) => [role.name, words(role.name)]);
  const siteNames = new Map((sites.body?.items ?? []).map((site) => [site.id, site.name]));
  const siteChoices = (chosen = []) => el("fieldset", { class: "sites" }, el("legend", {}, "Sites (none: every site the role allows)"),
    [...siteNames].map(([id, name]) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "site", value: id, checked: chosen.includes(id) }), name)));
  const chosenSites = (formNode) => [...formNode.querySelectorAll("input[name=site]:checked")].map((box) => box.value);

  const rows = (users.body?.items ?? []).map((user) => {
    const edit = form({
      className: "inline",
      fields: [field("Role", "role", { options: roleOptions, value: user.role }), field("Active", "is_active", { type: "checkbox", value: user.is_active }),
               siteChoices(user.site_ids ?? []), field("New password (optional)", "password", { type: "password", autocomplete: "new-password" })],
      action: "Save",
      submit: async (values, fail) => {
        const body = { role: values.role, is_active: values.is_active, site_ids: chosenSites(edit) };
        if (values.password) body.password = values.password;
        const saved = await api("PATCH", `/users/${user.id}`, body);
        if (saved.status !== 200) return fail(errorMessage(saved));
        notify(`${user.username} saved.`);
      },
    });
    return el("li", { class: "card" },
      el("div", { class: "alert-head" }, el("strong", {}, user.username), el("span", { class: "hint" }, user.email),
         el("span", {}, words(user.role)), user.is_active ? null : el("span", { class: "state failed" }, "disabled"),
         user.mfa_enabled ? el("span", { class: "hint" }, "two-factor on") : null,
         el("span", { class: "hint" }, user.last_login ? `last sign-in ${when(user.last_login)}` : "never signed in")),
      el("p", { class: "hint" }, (user.site_ids ?? []).length ? `Sites: ${user.site_ids.map((id) => siteNames.get(id) ?? id).join(", ")}` : "Every site"),
      el("details", {}, el("summary", {}, "Change"), edit,
         el("button", { type: "button", class: "plain danger", onclick: async () => {
           if (!confirm(`Delete ${user.username}?`)) return;
           const deleted = await api("DELETE", `/users/${user.id}`);
           if (deleted.status !== 204) return notify(errorMessage(deleted), "bad");
           userAdmin({ navigate });
         } }, "Delete user")));
  });
  const create = form({
    title: "Add a user",
    fields: [field("User name", "username", { required: true, autocomplete: "off" }), field("Email", "email", { type: "email", required: true }),
             field("Password (10 characters or more)", "password", { type: "password", required: true, autocomplete: "new-password" }),
             field("Role", "role", { options: roleOptions, value: "viewer" }), siteChoices()],
    action: "Add user",
    submit: async (values, fail) => {
      const created = await api("POST", "/users", { username: values.username, email: values.email, password: values.password,
                                                    role: values.role, site_ids: chosenSites(create) });
      if (created.status !== 201) return fail(errorMessage(created));
      notify(`${values.username} added.`);
      userAdmin({ navigate });
    },
  });
  main.replaceChildren(heading("Administration"), tabs("#/admin"),
    users.status === 200 ? el("ul", { class: "plain-list" }, rows) : el("p", { class: "error" }, errorMessage(users)), create);
}

export async function keyAdmin({ navigate }) {
  const [keys, roles] = await Promise.all([api("GET", "/api-keys"), api("GET", "/roles")]);
  main.replaceChildren(heading("Administration"), tabs("#/admin/keys"),
    el("p", { class: "hint" }, "Keys let machines use the API (Home Assistant, scripts, DeepStack clients). Each acts with its role on every site."),
    keys.status === 200 ? el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Name", "Starts with", "Role", "Made", "Last used", "Expires", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, (keys.body.items ?? []).map((key) => el("tr", {},
        el("td", {}, key.name), el("td", {}, el("code", {}, key.key_prefix)), el("td", {}, words(key.role)),
        el("td", {}, when(key.created_at)), el("td", {}, key.last_used_at ? when(key.last_used_at) : "never"),
        el("td", {}, key.expires_at ? when(key.expires_at) : "never"),
        el("td", {}, key.is_active ? el("button", { type: "button", class: "plain danger", onclick: async () => {
          if (!confirm(`Revoke ${key.name}? Whatever uses it stops at once.`)) return;
          const revoked = await api("DELETE", `/api-keys/${key.id}`);
          if (revoked.status !== 200) return notify(errorMessage(revoked), "bad");
          keyAdmin({ navigate });
        } }, "Revoke") : "revoked")))))) : el("p", { class: "error" }, errorMessage(keys)),
    form({
      title: "Make a key",
      fields: [field("Name (what uses it)", "name", { required: true }),
               field("Role", "role", { options: (roles.body?.items ?? []).map((role) => [role.name, words(role.name)]), value: "api_client" }),
               field("Expires after (days; empty: never)", "expires_in_days", { type: "number", min: 1, max: 3650 })],
      action: "Make key",
      submit: async (values, fail) => {
        const body = { name: values.name, role: values.role };
        if (values.expires_in_days) body.expires_in_days = Number(values.expires_in_days);
        const made = await api("POST", "/api-keys", body);
        if (made.status !== 201) return fail(errorMessage(made));
        await keyAdmin({ navigate });
        main.querySelector(".hint").after(el("div", { class: "card notice" },
          el("p", {}, `The key for ${made.body.name}, shown this once (Vigil keeps only its hash):`),
          el("code", { class: "secret", id: "api-key" }, made.body.key)));
      },
    }));
}

export async function auditLog({ params, navigate }) {
  const filters = el("form", { class: "filters card", role: "search" },
    field("Actor", "actor", { value: params.get("actor"), placeholder: "user:alice" }),
    field("Action", "action", { value: params.get("action"), placeholder: "camera_created" }),
    field("Resource", "resource_type", { value: params.get("resource_type"), placeholder: "camera" }),
    field("Resource id", "resource_id", { value: params.get("resource_id") }),
    field("From", "from", { type: "datetime-local", value: localInput(params.get("from")) }),
    field("Until", "until", { type: "datetime-local", value: localInput(params.get("until")) }),
    el("div", { class: "filter-actions" }, el("button", { type: "submit" }, "Apply")));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/admin/audit${query(filterValues(filters))}`);
  });
  const table = await pagedTable({
    path: "/audit-logs", params: Object.fromEntries(params), limit: 100, headings: ["When", "Who", "Did", "To", "Details"],
    row: (entry) => el("tr", {}, el("td", {}, when(entry.timestamp)), el("td", {}, entry.actor), el("td", {}, words(entry.action)),
                       el("td", {}, entry.resource_type ? `${entry.resource_type} ${entry.resource_id ?? ""}` : ""),
                       el("td", { class: "summary" }, entry.details ? JSON.stringify(entry.details) : "")),
    describe: (shown) => (shown ? "" : "Nothing recorded matches."),
  });
  main.replaceChildren(heading("Administration"), tabs("#/admin/audit"), filters, ...table);
}

export async function jobAdmin({ params, navigate }) {
  const statusFilter = params.get("status") ?? "";
  const reply = await api("GET", `/jobs${query({ status: statusFilter, job_type: params.get("job_type"), limit: 200 })}`);
  const pick = el("form", { class: "filters" },
    field("State", "status", { value: statusFilter, options: [["", "Any"], ["queued", "Queued"], ["running", "Running"], ["failed", "Failed"],
                                                             ["completed", "Completed"], ["cancelled", "Cancelled"]] }));
  pick.addEventListener("change", () => navigate(`#/admin/jobs${query({ status: pick.querySelector("select").value })}`));
  const act = async (job, action) => {
    const done = await api("POST", `/jobs/${job.id}/${action}`);
    if (done.status !== 200) return notify(errorMessage(done), "bad");
    notify(action === "retry" ? "Queued again." : "Cancelled.");
    jobAdmin({ params, navigate });
  };
  main.replaceChildren(heading("Administration"), tabs("#/admin/jobs"), pick,
    reply.status === 200 ? el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Made", "Type", "State", "Progress", "Attempt", "Error", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, (reply.body.items ?? []).map((job) => el("tr", {},
        el("td", {}, when(job.created_at)), el("td", {}, words(job.job_type)), el("td", { class: `state ${job.status}` }, words(job.status)),
        el("td", {}, job.progress_percent !== undefined && job.progress_percent !== null ? `${job.progress_percent}%${job.current_step ? ` ${job.current_step}` : ""}` : ""),
        el("td", {}, `${job.attempt_number ?? 0}/${job.max_attempts ?? ""}`),
        el("td", { class: "summary" }, job.error_message ?? ""),
        el("td", {}, ["failed", "cancelled"].includes(job.status) ? el("button", { type: "button", class: "plain", onclick: () => act(job, "retry") }, "Retry")
                     : ["queued", "running"].includes(job.status) ? el("button", { type: "button", class: "plain danger", onclick: () => act(job, "cancel") }, "Cancel")
                     : null)))))) : el("p", { class: "error" }, errorMessage(reply)));
}
