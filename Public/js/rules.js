// Alert rules and notification channels: a rule with every condition (what, where, who, when:
// days and times across midnight in a time zone, quiet hours), its cooldown and dedup key, tried
// against recent events before it is trusted; channels with their settings and a test message.

import { api, el, errorMessage, field, form, heading, main, notify, when, words } from "./core.js";

const EVENT_TYPES = ["human_detected", "face_detected", "person_recognized", "object_detected", "interaction_detected",
                     "stock_changed", "camera_obstructed", "scene_shifted"];
const OBJECTS = ["person", "car", "truck", "bicycle", "motorbike", "bus", "dog", "cat", "bird", "horse"];
const ACTIVITIES = ["intrusion", "loitering", "running", "crowding", "fall", "abandoned_object", "after_hours", "zone_breach",
                    "repeated_entry", "dwell_time"];
const PERSON_STATUSES = ["known", "unknown", "blacklisted", "vip"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const CHANNEL_FIELDS = {
  webhook: [["url", "URL (https://…)"], ["snapshot", "Snapshot (none, base64 or url)"]],
  email: [["host", "SMTP host"], ["port", "Port"], ["security", "Security (starttls, ssl or none)"], ["username", "User name"],
          ["from", "From"], ["to", "To (comma-separated)"]],
  telegram: [["chat_id", "Chat id"]],
  whatsapp: [["phone_number_id", "Phone number id"], ["recipients", "Recipients (comma-separated, international format)"],
             ["template_name", "Template name (optional)"]],
};
const CREDENTIAL = { webhook: "HMAC secret (optional)", email: "SMTP password", telegram: "Bot token", whatsapp: "Access token" };

function tabs(current) {
  return el("nav", { class: "tabs", "aria-label": "Rules" },
    [["#/rules", "Alert rules"], ["#/rules/channels", "Channels"]]
      .map(([href, label]) => el("a", { href, "aria-current": href === current ? "page" : false }, label)));
}

/** Checkboxes for a list of choices; `chosen` are ticked. */
function choices(legend, name, options, chosen = []) {
  return el("fieldset", { class: "choices" }, el("legend", {}, legend),
    options.map(([value, label]) => el("label", { class: "check" },
      el("input", { type: "checkbox", name, value, checked: chosen.includes(value) }), label)));
}

function ticked(formNode, name) {
  return [...formNode.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
}

export async function ruleList({ navigate }) {
  const [rules, cameras, channels, watchlists, people, sites] = await Promise.all([api("GET", "/alert-rules"), api("GET", "/cameras?limit=500"),
    api("GET", "/notification-channels"), api("GET", "/watchlists?limit=200"), api("GET", "/persons?limit=500"), api("GET", "/sites?limit=500")]);
  const cameraList = cameras.body?.items ?? [];
  // Zones are named with their camera: "Porch" may exist at two doors.
  const zones = (await Promise.all(cameraList.map(async (camera) =>
    ((await api("GET", `/cameras/${camera.id}/zones`)).body?.items ?? []).map((zone) => [zone.id, `${zone.name} (${camera.name})`])))).flat();
  const context = { cameras: cameraList, channels: channels.body?.items ?? [], watchlists: watchlists.body?.items ?? [], zones,
                    sites: sites.body?.items ?? [],
                    people: (people.body?.items ?? []).map((person) => [person.id, person.name ?? "(no name)"]) };
  main.replaceChildren(heading("Rules"), tabs("#/rules"),
    el("ul", { class: "plain-list" }, (rules.body?.items ?? []).map((rule) => el("li", { class: "card" },
      el("div", { class: "alert-head" }, el("strong", {}, rule.name), rule.enabled ? null : el("span", { class: "hint" }, "off"),
         rule.builtin ? el("span", { class: "hint" }, "built in") : null,
         rule.severity ? el("span", { class: `level ${rule.severity}` }, rule.severity) : null),
      rule.description ? el("p", { class: "hint" }, rule.description) : null,
      el("details", {}, el("summary", {}, "Edit and try"), ruleForm(rule, context, navigate), trial(rule))))),
    ruleForm(null, context, navigate));
}

function ruleForm(rule, { cameras, channels, watchlists, zones, people, sites }, navigate) {
  const schedule = rule?.schedule ?? {};
  const quiet = rule?.quiet_hours ?? {};
  const node = form({
    title: rule ? null : "New rule",
    fields: [
      field("Name", "name", { value: rule?.name, required: true }), field("Description", "description", { value: rule?.description }),
      field("On", "enabled", { type: "checkbox", value: rule ? rule.enabled : true }),
      // Someone who manages one site gets it whatever is chosen; "every site" is for those who see them all.
      field("Site", "site_id", { value: rule?.site_id ?? "", options: [["", "Every site"], ...sites.map((s) => [s.id, s.name])] }),
      field("Severity of its alerts", "severity", { value: rule?.severity ?? "", options: [["", "The event's own"], ["low", "Low"], ["medium", "Medium"], ["high", "High"], ["critical", "Critical"]] }),
      field("Lowest risk score (0-100)", "risk_threshold", { type: "number", min: 0, max: 100, value: rule?.risk_threshold }),
      field("Lowest confidence (0-1)", "min_confidence", { type: "number", min: 0, max: 1, step: 0.05, value: rule?.min_confidence }),
      choices("Event types (none: any)", "event_types", EVENT_TYPES.map((t) => [t, words(t)]), rule?.event_types),
      choices("Objects (none: any)", "object_types", OBJECTS.map((o) => [o, words(o)]), rule?.object_types),
      choices("Activities (none: any)", "activity_types", ACTIVITIES.map((a) => [a, words(a)]), rule?.activity_types),
      choices("Cameras (none: all)", "camera_ids", cameras.map((c) => [c.id, c.name]), rule?.camera_ids),
      zones.length ? choices("Zones (none: anywhere)", "zone_ids", zones, rule?.zone_ids) : null,
      people.length ? choices("People (none: anyone)", "person_ids", people, rule?.person_ids) : null,
      choices("People of status (none: anyone)", "person_statuses", PERSON_STATUSES.map((s) => [s, words(s)]), rule?.person_statuses),
      watchlists.length ? choices("On watchlists", "watchlist_ids", watchlists.map((w) => [w.id, w.name]), rule?.watchlist_ids) : null,
      el("fieldset", { class: "choices" }, el("legend", {}, "When (no day ticked: always)"),
         DAYS.map((day) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "day", value: day,
                                                                          checked: (schedule.days ?? []).map(String).includes(day) }), words(day))),
         field("From", "start_time", { type: "time", value: schedule.start_time }),
         field("Until (earlier than From: across midnight)", "end_time", { type: "time", value: schedule.end_time }),
         field("Time zone (empty: the site's)", "timezone", { value: schedule.timezone, placeholder: "Europe/Paris" })),
      el("fieldset", { class: "choices" }, el("legend", {}, "Quiet hours"),
         field("Silent daily", "quiet_enabled", { type: "checkbox", value: quiet.enabled }),
         field("From", "quiet_start", { type: "time", value: quiet.start }), field("Until", "quiet_end", { type: "time", value: quiet.end })),
      field("Cooldown (seconds between alerts with one dedup key)", "cooldown_seconds", { type: "number", min: 0, value: rule?.cooldown_seconds ?? 300 }),
      field("Dedup key", "dedup_key_template", { value: rule?.dedup_key_template ?? "{camera_id}:{rule_id}" }),
      choices("Send through", "channel_ids", channels.map((c) => [c.id, `${c.name} (${words(c.channel_type)})`]), rule?.channel_ids),
    ],
    action: rule ? "Save rule" : "Create rule",
    submit: async (values, fail) => {
      const number = (text) => (text === undefined ? null : Number(text));
      const days = ticked(node, "day");
      const body = {
        name: values.name, description: values.description ?? null, enabled: values.enabled, severity: values.severity ?? null,
        site_id: values.site_id || null,
        risk_threshold: number(values.risk_threshold), min_confidence: number(values.min_confidence),
        event_types: ticked(node, "event_types"), object_types: ticked(node, "object_types"), activity_types: ticked(node, "activity_types"),
        camera_ids: ticked(node, "camera_ids"), zone_ids: ticked(node, "zone_ids"), person_ids: ticked(node, "person_ids"),
        person_statuses: ticked(node, "person_statuses"), watchlist_ids: ticked(node, "watchlist_ids"),
        channel_ids: ticked(node, "channel_ids"),
        schedule: days.length || values.start_time || values.end_time
          ? { days, start_time: values.start_time ?? "00:00", end_time: values.end_time ?? "23:59", ...(values.timezone ? { timezone: values.timezone } : {}) }
          : null,
        quiet_hours: values.quiet_start && values.quiet_end ? { enabled: values.quiet_enabled, start: values.quiet_start, end: values.quiet_end } : null,
        cooldown_seconds: number(values.cooldown_seconds) ?? 300, dedup_key_template: values.dedup_key_template ?? "{camera_id}:{rule_id}",
      };
      const reply = rule ? await api("PATCH", `/alert-rules/${rule.id}`, body) : await api("POST", "/alert-rules", body);
      if (reply.status !== 200 && reply.status !== 201) return fail(errorMessage(reply));
      notify(`Rule ${reply.body.name} saved.`);
      if (!rule) navigate("#/rules");
    },
  });
  if (rule && !rule.builtin) {
    node.append(el("button", { type: "button", class: "plain danger", onclick: async () => {
      if (!confirm(`Delete the rule ${rule.name}?`)) return;
      const deleted = await api("DELETE", `/alert-rules/${rule.id}`);
      if (deleted.status !== 204) return notify(errorMessage(deleted), "bad");
      navigate("#/rules");
    } }, "Delete rule"));
  }
  return node;
}

/** The dry run: which of the last week's events the saved rule would match, and why not the others. */
function trial(rule) {
  const out = el("div", { class: "trial" });
  return el("div", {}, el("button", { type: "button", class: "plain", onclick: async () => {
    out.replaceChildren(el("p", { class: "hint" }, "Trying…"));
    const reply = await api("POST", `/alert-rules/${rule.id}/test?hours=168&limit=50`);
    if (reply.status !== 200) return out.replaceChildren(el("p", { class: "error" }, errorMessage(reply)));
    out.replaceChildren(el("p", {}, `${reply.body.matched} of the last ${reply.body.evaluated} events would raise an alert.`),
      el("ul", { class: "plain-list" }, (reply.body.results ?? []).map((result) => el("li", {},
        el("span", { class: result.matches ? "state sent" : "hint" }, result.matches ? "✓ " : "✗ "),
        el("a", { href: `#/events/${result.event_id}` }, `${words(result.event_type)} at ${result.camera_name}, ${when(result.started_at)}`),
        result.matches ? ` → ${result.severity}: ${result.message}` : ` — ${(result.reasons ?? []).join("; ")}`))));
  } }, "Try on recent events"), out);
}

export async function channelList({ navigate }) {
  const reply = await api("GET", "/notification-channels");
  const kind = field("Kind", "channel_type", { options: Object.keys(CHANNEL_FIELDS).map((type) => [type, words(type)]), value: "webhook" });
  const specific = el("div", {});
  const showFields = (type) => specific.replaceChildren(...CHANNEL_FIELDS[type].map(([name, label]) => field(label, `config.${name}`)),
                                                        field(CREDENTIAL[type], "credential", { type: "password", autocomplete: "off" }));
  kind.querySelector("select").addEventListener("change", (event) => showFields(event.target.value));
  showFields("webhook");
  main.replaceChildren(heading("Rules"), tabs("#/rules/channels"),
    el("ul", { class: "plain-list" }, (reply.body?.items ?? []).map((channel) => el("li", { class: "card" },
      el("div", { class: "alert-head" }, el("strong", {}, channel.name), el("span", {}, words(channel.channel_type)),
         channel.is_active ? null : el("span", { class: "hint" }, "off"),
         el("span", { class: "hint" }, channel.has_credential ? "credential stored (sealed)" : "no credential")),
      el("p", { class: "hint" }, Object.entries(channel.config ?? {}).map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`).join(" · ")),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "plain", "data-test": channel.id, onclick: async () => {
          const sent = await api("POST", `/notification-channels/${channel.id}/test`);
          notify(sent.status === 200 ? `Test sent (${sent.body.latency_ms} ms).` : errorMessage(sent), sent.status === 200 ? "info" : "bad");
        } }, "Send a test"),
        el("button", { type: "button", class: "plain danger", onclick: async () => {
          if (!confirm(`Delete the channel ${channel.name}?`)) return;
          const deleted = await api("DELETE", `/notification-channels/${channel.id}`);
          if (deleted.status !== 204) return notify(errorMessage(deleted), "bad");
          navigate("#/rules/channels");
        } }, "Delete"))))),
    form({
      title: "New channel",
      fields: [field("Name", "name", { required: true }), kind, specific],
      action: "Create channel",
      submit: async (values, fail) => {
        const config = {};
        for (const [key, value] of Object.entries(values)) {
          if (!key.startsWith("config.")) continue;
          const name = key.slice(7);
          config[name] = ["to", "recipients"].includes(name) ? value.split(",").map((part) => part.trim()).filter(Boolean)
                       : name === "port" ? Number(value) : value;
        }
        const body = { name: values.name, channel_type: values.channel_type, config };
        if (values.credential) body.credential = values.credential;
        const created = await api("POST", "/notification-channels", body);
        if (created.status !== 201) return fail(errorMessage(created));
        notify(`Channel ${values.name} created.`);
        navigate("#/rules/channels");
      },
    }));
}
