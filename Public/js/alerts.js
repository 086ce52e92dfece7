// The alerts inbox: the active alerts, most severe first and newest first within a severity;
// acknowledge, resolve or dismiss one or many; each alert's deliveries per channel; kept current
// by the live feed.

import { api, el, errorMessage, heading, level, main, notify, when, words } from "./core.js";

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
const ACTIVE = new Set(["pending", "delivered", "acknowledged"]);
const ACTIONS = [["acknowledge", "Acknowledge"], ["resolve", "Resolve"], ["dismiss", "Dismiss"]];

export async function alertInbox({ live, params }) {
  const showClosed = params.get("closed") === "true";
  const items = el("ul", { class: "inbox", id: "inbox", "aria-label": "Alerts" });
  const status = el("p", { class: "hint", role: "status" });
  const selectAll = el("input", { type: "checkbox", "aria-label": "Select every alert shown" });
  const bulk = el("div", { class: "bulk" }, el("label", { class: "check" }, selectAll, "All"),
                  ACTIONS.map(([action, label]) => el("button", { type: "button", class: "plain", "data-bulk": action,
                                                                  onclick: () => act(action, selected()) }, `${label} selected`)));
  main.replaceChildren(
    heading("Alerts", el("a", { class: "button plain", href: showClosed ? "#/alerts" : "#/alerts?closed=true" },
                         showClosed ? "Active alerts" : "Closed alerts")),
    bulk, status, items);

  /** Every alert shown, by id, as last read (its version_id is what a change must name). */
  const alerts = new Map();

  const render = () => {
    const ordered = [...alerts.values()]
      .filter((alert) => showClosed ? !ACTIVE.has(alert.status) : ACTIVE.has(alert.status))
      .sort((a, b) => showClosed ? b.created_at.localeCompare(a.created_at)
                                 : (SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]) || b.created_at.localeCompare(a.created_at));
    const checked = new Set(selected());
    items.replaceChildren(...ordered.map((alert) => alertCard(alert, checked.has(alert.id))));
    status.textContent = ordered.length ? `${ordered.length} ${showClosed ? "closed" : "active"} alert${ordered.length === 1 ? "" : "s"}.`
                                        : showClosed ? "No closed alert." : "No active alert. All is quiet.";
  };

  const selected = () => [...items.querySelectorAll("input[data-select]:checked")].map((box) => box.dataset.select);

  const alertCard = (alert, checked) => {
    const deliveries = el("div", { class: "deliveries" });
    const more = el("details", { ontoggle: async (event) => {
      if (!event.target.open || deliveries.childElementCount) return;
      const reply = await api("GET", `/alerts/${alert.id}`);
      deliveries.replaceChildren(deliveryTable(reply.body?.deliveries ?? []));
    } }, el("summary", {}, "Deliveries"), deliveries);
    return el("li", { class: `card alert ${alert.severity}`, "data-id": alert.id, "data-status": alert.status },
      el("div", { class: "alert-head" },
         el("input", { type: "checkbox", "data-select": alert.id, checked, "aria-label": `Select alert ${alert.message ?? ""}` }),
         level(alert.severity), el("strong", {}, alert.rule_name ?? words(alert.alert_type)),
         el("span", { class: `state ${alert.status}` }, words(alert.status))),
      el("p", { class: "message" }, alert.message ?? ""),
      el("p", { class: "hint" }, `${alert.camera_name ?? ""} · ${when(alert.created_at)}`,
         alert.repeat_count > 1 ? ` · seen ${alert.repeat_count} times, last ${when(alert.last_seen_at)}` : "",
         " · ", el("a", { href: `#/events/${alert.event_id}` }, "the event")),
      ACTIVE.has(alert.status)
        ? el("div", { class: "actions" }, ACTIONS
          .filter(([action]) => !(action === "acknowledge" && alert.status === "acknowledged"))
          .map(([action, label]) => el("button", { type: "button", "data-action": action, onclick: () => act(action, [alert.id]) }, label)))
        : null,
      more);
  };

  /** Applies `action` to the alerts named, each with the version it was read at. */
  const act = async (action, ids) => {
    if (!ids.length) return notify("Select alerts first.");
    if (action === "acknowledge" && ids.length > 1) {
      const reply = await api("POST", "/alerts/acknowledge", { alert_ids: ids });
      if (reply.status !== 200) return notify(errorMessage(reply), "bad");
      for (const alert of reply.body.acknowledged ?? []) alerts.set(alert.id, alert);
      const skipped = reply.body.skipped ?? [];
      notify(`${(reply.body.acknowledged ?? []).length} acknowledged${skipped.length ? `, ${skipped.length} skipped` : ""}.`);
    } else {
      let done = 0;
      for (const id of ids) {
        const current = alerts.get(id);
        if (!current) continue;
        const reply = await api("PATCH", `/alerts/${id}`, { action, version_id: current.version_id });
        if (reply.status === 200) {
          alerts.set(id, reply.body);
          done += 1;
        } else if (reply.status === 409) {
          // Someone changed it meanwhile: show it as it is now.
          const fresh = await api("GET", `/alerts/${id}`);
          if (fresh.status === 200) alerts.set(id, fresh.body);
          notify(errorMessage(reply), "bad");
        } else {
          notify(errorMessage(reply), "bad");
        }
      }
      if (done) notify(`${done} alert${done === 1 ? "" : "s"} ${action === "dismiss" ? "dismissed" : `${action}d`}.`);
    }
    selectAll.checked = false;
    render();
  };

  selectAll.addEventListener("change", () => {
    for (const box of items.querySelectorAll("input[data-select]")) box.checked = selectAll.checked;
  });

  const load = async () => {
    const filter = showClosed ? "status=resolved,dismissed&limit=200" : "active=true&limit=500";
    const reply = await api("GET", `/alerts?${filter}`);
    if (reply.status !== 200) {
      status.textContent = errorMessage(reply);
      return;
    }
    alerts.clear();
    for (const alert of reply.body.items) alerts.set(alert.id, alert);
    render();
  };
  await load();

  const stops = [
    live.on("alert.created", (alert) => { alerts.set(alert.id, alert); render(); }),
    live.on("alert.updated", (alert) => { alerts.set(alert.id, alert); render(); }),
    live.on("reconnected", load),
  ];
  return () => stops.forEach((stop) => stop());
}

function deliveryTable(deliveries) {
  if (!deliveries.length) return el("p", { class: "hint" }, "No delivery yet (no channel, or still queued).");
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, ["Channel", "Attempt", "Status", "Answer", "When"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, deliveries.map((delivery) => el("tr", {},
      el("td", {}, words(delivery.channel_type)),
      el("td", {}, delivery.attempt),
      el("td", { class: `state ${delivery.status}` }, words(delivery.status)),
      el("td", {}, delivery.error ?? (delivery.response_code ? `HTTP ${delivery.response_code}` : "")),
      el("td", {}, when(delivery.attempted_at)))))));
}
