// Cameras: the list with state and last frame time; adding one of each source kind (a pushing
// camera's device token is shown once, when it is made); editing; and the zone editor, which
// draws polygons over the camera's latest frame and saves them in normalized coordinates.

import { ago, api, el, errorMessage, field, form, heading, main, notify, svg, when, words } from "./core.js";

const KINDS = [["http_push", "Pushes frames over HTTP (ESP32)"], ["ftp_folder", "Uploads over FTP (Foscam)"],
               ["rtsp", "RTSP stream"], ["http_snapshot", "HTTP snapshot URL"], ["mjpeg", "MJPEG stream over HTTP"]];
const ZONE_TYPES = ["entry_point", "driveway", "sidewalk", "yard", "restricted", "interest", "entry", "exit", "watch_area", "other"];

export async function cameraList() {
  const [cameras, sites] = await Promise.all([api("GET", "/cameras?limit=500"), api("GET", "/sites?limit=500")]);
  const rows = (cameras.body?.items ?? []).map((camera) => el("tr", {},
    el("td", {}, el("a", { href: `#/cameras/${camera.id}` }, camera.name)),
    el("td", {}, words(camera.source_kind)),
    el("td", {}, el("span", { class: `status ${camera.status}` }, camera.status)),
    el("td", {}, camera.last_seen_at ? ago(camera.last_seen_at) : "never"),
    el("td", {}, camera.is_active ? "" : "switched off")));
  const created = el("div", { id: "created" });
  main.replaceChildren(heading("Cameras"),
    rows.length ? el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Name", "Source", "State", "Last frame", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows))) : el("p", { class: "hint" }, "No camera yet."),
    created, addCameraForm(sites.body?.items ?? [], created));
}

/** The fields each source kind needs, shown for the kind picked. */
function sourceFields(kind, camera = {}) {
  switch (kind) {
    case "http_push": return [field("Device id (as the camera names itself; optional)", "device_id", { value: camera.device_id })];
    case "ftp_folder": return [field("Upload folder (under the FTP root; default: the camera's slug)", "folder_path", { value: camera.folder_path })];
    case "rtsp": return [field("RTSP URL (rtsp://user:password@host:554/path)", "rtsp_url", { value: camera.rtsp_url, required: true })];
    default: return [field("URL (http://…)", "snapshot_url", { value: camera.snapshot_url, required: true })];
  }
}

function addCameraForm(sites, created) {
  const kind = field("Source", "source_kind", { options: KINDS, value: "http_push" });
  const extra = el("div", {}, sourceFields("http_push"));
  kind.querySelector("select").addEventListener("change", (event) => extra.replaceChildren(...sourceFields(event.target.value)));
  return form({
    title: "Add a camera",
    fields: [field("Name", "name", { required: true }), field("Where it is (optional)", "location"),
             sites.length > 1 ? field("Site", "site_id", { options: sites.map((site) => [site.id, site.name]) }) : null,
             kind, extra, field("Frames per second to analyse", "fps", { type: "number", min: 1, max: 120, value: 2 })],
    action: "Add camera",
    submit: async (values, fail) => {
      const body = { ...values, fps: values.fps ? Number(values.fps) : undefined };
      const reply = await api("POST", "/cameras", body);
      if (reply.status !== 201) return fail(errorMessage(reply));
      const camera = reply.body;
      created.replaceChildren(el("div", { class: "card notice" },
        el("h2", {}, `${camera.name} is added`),
        camera.device_token
          ? [el("p", {}, "Its device token, shown this once (Vigil keeps only its hash). Put it in the camera's settings:"),
             el("code", { class: "secret", id: "device-token" }, camera.device_token),
             el("button", { type: "button", class: "plain", onclick: () => navigator.clipboard?.writeText(camera.device_token)
               .then(() => notify("Copied."), () => notify("Select the token and copy it.")) }, "Copy")]
          : el("p", {}, "Vigil will start reading it within a few seconds."),
        el("p", {}, el("a", { href: `#/cameras/${camera.id}` }, "Open it to draw its zones."))));
      created.scrollIntoView({ block: "nearest" });
    },
  });
}

export async function cameraPage({ id, navigate }) {
  const [reply, zones] = await Promise.all([api("GET", `/cameras/${id}`), api("GET", `/cameras/${id}/zones`)]);
  if (reply.status !== 200) {
    main.replaceChildren(heading("Camera"), el("p", { class: "error" }, errorMessage(reply)));
    return;
  }
  const camera = reply.body;
  const token = el("div", {});
  const settings = form({
    title: "Settings",
    fields: [field("Name", "name", { value: camera.name, required: true }), field("Where it is", "location", { value: camera.location }),
             ...sourceFields(camera.source_kind, camera),
             field("Frames per second to analyse", "fps", { type: "number", min: 1, max: 120, value: camera.fps }),
             field("Switched on", "is_active", { type: "checkbox", value: camera.is_active })],
    action: "Save",
    submit: async (values, fail) => {
      const body = { ...values, fps: values.fps ? Number(values.fps) : undefined };
      const saved = await api("PATCH", `/cameras/${id}`, body);
      if (saved.status !== 200) return fail(errorMessage(saved));
      notify("Saved.");
    },
  });
  const actions = el("div", { class: "actions" },
    camera.source_kind === "http_push" ? el("button", { type: "button", class: "plain", onclick: async () => {
      if (!confirm("A new token stops the current one at once. Go on?")) return;
      const rotated = await api("POST", `/cameras/${id}/device-token`);
      if (rotated.status !== 200 && rotated.status !== 201) return notify(errorMessage(rotated), "bad");
      token.replaceChildren(el("div", { class: "card notice" }, el("p", {}, "The new device token, shown this once:"),
                                 el("code", { class: "secret" }, rotated.body.device_token)));
    } }, "New device token") : null,
    el("button", { type: "button", class: "plain danger", onclick: async () => {
      if (!confirm(`Delete ${camera.name} with its zones? Its events stay until retention removes them.`)) return;
      const deleted = await api("DELETE", `/cameras/${id}`);
      if (deleted.status !== 204) return notify(errorMessage(deleted), "bad");
      navigate("#/cameras");
    } }, "Delete camera"));
  main.replaceChildren(
    heading(camera.name, actions),
    el("p", { class: "meta" }, `${words(camera.source_kind)} · `, el("span", { class: `status ${camera.status}` }, camera.status),
       camera.last_seen_at ? ` · last frame ${when(camera.last_seen_at)}` : " · no frame yet"),
    token,
    zoneEditor(camera, zones.body?.items ?? []),
    settings);
}

/**
 * Draws and edits zones over the latest frame. Clicking the frame adds a point to the zone being
 * edited; points are dragged to move them, or selected (click or Tab) and moved with the arrow
 * keys, removed with Delete or a double click. Coordinates are fractions of the frame's width
 * and height, as the API stores them.
 */
function zoneEditor(camera, zones) {
  const stage = el("div", { class: "stage editor", id: "zone-stage", tabindex: "-1" });
  const overlay = svg("svg", { class: "zones", viewBox: "0 0 1 1", preserveAspectRatio: "none" });
  const handles = el("div", { class: "handles" });
  if (camera.last_seen_at) {
    stage.append(el("img", { src: `/api/v1/cameras/${camera.id}/latest.jpg?at=${Date.now()}`, alt: "The camera's latest frame",
                             draggable: "false", onerror: (event) => event.target.replaceWith(el("div", { class: "frame none" }, "No frame yet")) }));
  } else {
    stage.append(el("div", { class: "frame none" }, "No frame yet: zones can still be drawn."));
  }
  stage.append(overlay, handles);

  const zoneList = el("ul", { class: "zone-list" });
  const editorForm = el("form", { class: "zone-form", novalidate: true });
  const error = el("p", { class: "error", role: "alert" });
  let editing = null; // {id?, name, zone_type, color, points: [[x, y]]}
  let selected = -1;

  const round = (value) => Math.round(Math.min(1, Math.max(0, value)) * 10_000) / 10_000;
  const pointAt = (event) => {
    const rect = stage.getBoundingClientRect();
    return [round((event.clientX - rect.left) / rect.width), round((event.clientY - rect.top) / rect.height)];
  };

  const draw = () => {
    overlay.replaceChildren(...zones.filter((zone) => zone.id !== editing?.id).map((zone) =>
      svg("polygon", { class: "zone", points: zone.coordinates.map((p) => p.join(",")).join(" "), fill: zone.color, stroke: zone.color },
          svg("title", {}, zone.name))));
    handles.replaceChildren();
    if (!editing) return;
    overlay.append(svg("polygon", { class: "zone editing", points: editing.points.map((p) => p.join(",")).join(" "),
                                    fill: editing.color, stroke: editing.color }));
    editing.points.forEach(([x, y], index) => {
      const handle = el("button", { type: "button", class: `handle${index === selected ? " selected" : ""}`, "data-index": index,
                                    "aria-label": `Point ${index + 1} at ${Math.round(x * 100)}%, ${Math.round(y * 100)}%` });
      handle.style.left = `${x * 100}%`;
      handle.style.top = `${y * 100}%`;
      handles.append(handle);
    });
    editorForm.querySelector("[data-count]").textContent = `${editing.points.length} point${editing.points.length === 1 ? "" : "s"}`;
  };

  // Points: add on the frame, drag, select, move with the keyboard, delete.
  stage.addEventListener("pointerdown", (event) => {
    if (!editing || event.button !== 0) return;
    const handle = event.target.closest(".handle");
    if (handle) {
      selected = Number(handle.dataset.index);
      handle.setPointerCapture(event.pointerId);
      const move = (moveEvent) => {
        editing.points[selected] = pointAt(moveEvent);
        draw();
      };
      const end = () => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", end);
        draw();
        handles.querySelector(`[data-index="${selected}"]`)?.focus();
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", end);
      return;
    }
    editing.points.push(pointAt(event));
    selected = editing.points.length - 1;
    draw();
  });
  stage.addEventListener("dblclick", (event) => {
    const handle = event.target.closest(".handle");
    if (!editing || !handle) return;
    editing.points.splice(Number(handle.dataset.index), 1);
    selected = -1;
    draw();
  });
  handles.addEventListener("focusin", (event) => {
    const handle = event.target.closest(".handle");
    if (handle) selected = Number(handle.dataset.index);
  });
  handles.addEventListener("keydown", (event) => {
    if (!editing || selected < 0) return;
    const step = event.shiftKey ? 0.05 : 0.01;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      const [x, y] = editing.points[selected];
      editing.points[selected] = [round(x + moves[event.key][0]), round(y + moves[event.key][1])];
    } else if (event.key === "Delete" || event.key === "Backspace") {
      editing.points.splice(selected, 1);
      selected = Math.min(selected, editing.points.length - 1);
    } else {
      return;
    }
    event.preventDefault();
    draw();
    handles.querySelector(`[data-index="${selected}"]`)?.focus();
  });

  const edit = (zone) => {
    editing = zone ? { id: zone.id, name: zone.name, zone_type: zone.zone_type, color: zone.color, points: zone.coordinates.map((p) => [...p]) }
                   : { name: "", zone_type: "entry_point", color: "#F59E0B", points: [] };
    selected = -1;
    error.textContent = "";
    editorForm.replaceChildren(
      el("h3", {}, zone ? `Editing ${zone.name}` : "New zone"),
      el("p", { class: "hint" }, "Click the frame to add points; drag them to move; double-click or Delete removes one."),
      field("Name", "name", { value: editing.name, required: true }),
      field("Type", "zone_type", { value: editing.zone_type, options: ZONE_TYPES.map((type) => [type, words(type)]) }),
      field("Colour", "color", { type: "color", value: editing.color.toLowerCase() }),
      el("p", { class: "hint", "data-count": "" }),
      el("div", { class: "actions" },
         el("button", { type: "submit" }, "Save zone"),
         el("button", { type: "button", class: "plain", onclick: () => { editing.points = []; selected = -1; draw(); } }, "Clear points"),
         zone ? el("button", { type: "button", class: "plain danger", onclick: () => remove(zone) }, "Delete zone") : null,
         el("button", { type: "button", class: "plain", onclick: () => { editing = null; editorForm.replaceChildren(); draw(); } }, "Close")),
      error);
    editorForm.querySelector("[name=color]").addEventListener("input", (event) => { editing.color = event.target.value; draw(); });
    draw();
  };

  const remove = async (zone) => {
    if (!confirm(`Delete the zone ${zone.name}?`)) return;
    const reply = await api("DELETE", `/cameras/${camera.id}/zones/${zone.id}`);
    if (reply.status !== 204) return notify(errorMessage(reply), "bad");
    zones = zones.filter((other) => other.id !== zone.id);
    editing = null;
    editorForm.replaceChildren();
    listZones();
    draw();
  };

  editorForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (editing.points.length < 3) {
      error.textContent = "A zone needs at least three points.";
      return;
    }
    const name = editorForm.querySelector("[name=name]").value.trim();
    const body = { name, zone_type: editorForm.querySelector("[name=zone_type]").value, color: editing.color.toUpperCase(),
                   shape: "polygon", coordinates: editing.points };
    const reply = editing.id ? await api("PATCH", `/cameras/${camera.id}/zones/${editing.id}`, body)
                             : await api("POST", `/cameras/${camera.id}/zones`, body);
    if (reply.status !== 200 && reply.status !== 201) {
      error.textContent = errorMessage(reply);
      return;
    }
    zones = [...zones.filter((zone) => zone.id !== reply.body.id), reply.body];
    notify(`Zone ${reply.body.name} saved.`);
    edit(reply.body);
    listZones();
  });

  const listZones = () => {
    zoneList.replaceChildren(...zones.map((zone) => el("li", {},
      el("span", { class: "swatch", "data-color": zone.color }), el("button", { type: "button", class: "plain", onclick: () => edit(zone) }, zone.name),
      el("span", { class: "hint" }, ` ${words(zone.zone_type)}${zone.enabled === false ? " (off)" : ""}`))));
    for (const swatch of zoneList.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.color;
  };

  listZones();
  draw();
  return el("section", { class: "card" }, el("div", { class: "heading" }, el("h2", {}, "Zones"),
                                              el("button", { type: "button", id: "new-zone", onclick: () => edit(null) }, "New zone")),
            el("div", { class: "zone-editor" }, stage, el("div", {}, zoneList, editorForm)));
}
