// The live dashboard: today's figures, the cameras with their latest frame and state, and a
// timeline of events and alerts that grows as the live feed announces them.

import { ago, api, el, heading, level, main, when, words } from "./core.js";

const FIGURES = {
  events_today: "Events today", high_risk_today: "High risk today", humans_today: "People today",
  recognized_today: "Recognized today", unreviewed_events: "Not reviewed", online_cameras: "Cameras online",
  offline_cameras: "Cameras offline",
};
const TIMELINE_LENGTH = 50;
const FRAME_REFRESH_MS = 15_000;

export async function overview({ live }) {
  const figures = el("section", { class: "stats", "aria-label": "Today" });
  const cameras = el("ul", { class: "cameras", "aria-label": "Cameras" });
  const timeline = el("ol", { class: "timeline", id: "timeline", "aria-label": "Live timeline" });
  main.replaceChildren(heading("Overview"), figures, el("h2", {}, "Cameras"), cameras,
                       el("h2", {}, "Live timeline"), timeline);

  const loadFigures = async () => {
    const stats = await api("GET", "/stats/dashboard");
    figures.replaceChildren(...Object.entries(FIGURES)
      .filter(([key]) => stats.body?.[key] !== undefined && stats.body?.[key] !== null)
      .map(([key, label]) => el("div", { class: "card stat" }, el("strong", {}, stats.body[key]), label)));
  };

  const loadCameras = async () => {
    const reply = await api("GET", "/cameras?limit=500");
    cameras.replaceChildren(...(reply.body?.items ?? []).map(cameraCard));
    if (!cameras.children.length) cameras.append(el("li", { class: "hint" }, "No camera yet: add one under Cameras."));
  };

  const loadTimeline = async () => {
    const [events, alerts] = await Promise.all([api("GET", "/events?limit=25"), api("GET", "/alerts?active=true&limit=25")]);
    timeline.replaceChildren();
    const entries = [...(events.body?.items ?? []).map(eventEntry), ...(alerts.body?.items ?? []).map(alertEntry)]
      .sort((a, b) => b.time.localeCompare(a.time));
    for (const entry of entries.slice(0, TIMELINE_LENGTH)) timeline.append(entry.node);
    showEmpty();
  };

  const showEmpty = () => {
    timeline.querySelector(".empty")?.remove();
    if (!timeline.children.length) timeline.append(el("li", { class: "hint empty" }, "Nothing yet today. New events appear here as they happen."));
  };

  /** Puts an entry at the top, or replaces the one it updates where it stands. */
  const place = (entry, isNew) => {
    const existing = timeline.querySelector(`[data-key="${entry.node.dataset.key}"]`);
    if (existing) existing.replaceWith(entry.node);
    else if (isNew) timeline.prepend(entry.node);
    else return;
    entry.node.classList.add("fresh");
    timeline.querySelector(".empty")?.remove();
    while (timeline.children.length > TIMELINE_LENGTH) timeline.lastElementChild.remove();
  };

  /** A camera's card as it is now: a new event means a new frame and a camera seen. */
  const refreshCamera = async (id) => {
    const reply = await api("GET", `/cameras/${id}`);
    const card = cameras.querySelector(`[data-id="${id}"]`);
    if (reply.status === 200 && card) card.replaceWith(cameraCard(reply.body));
  };

  await Promise.all([loadFigures(), loadCameras(), loadTimeline()]);

  const refreshFrames = setInterval(() => {
    for (const image of cameras.querySelectorAll("img[data-camera]")) {
      image.src = `/api/v1/cameras/${image.dataset.camera}/latest.jpg?at=${Date.now()}`;
    }
  }, FRAME_REFRESH_MS);
  const stops = [
    live.on("event.created", (event) => {
      place(eventEntry(event), true);
      loadFigures();
      refreshCamera(event.camera_id);
    }),
    live.on("event.updated", (event) => place(eventEntry(event), false)),
    live.on("alert.created", (alert) => place(alertEntry(alert), true)),
    live.on("alert.updated", (alert) => place(alertEntry(alert), false)),
    live.on("camera.status", (camera) => {
      const card = cameras.querySelector(`[data-id="${camera.id}"]`);
      if (card) card.replaceWith(cameraCard(camera));
      loadFigures();
    }),
    live.on("reconnected", () => { loadFigures(); loadCameras(); loadTimeline(); }),
  ];
  return () => {
    clearInterval(refreshFrames);
    stops.forEach((stop) => stop());
  };
}

function cameraCard(camera) {
  const state = camera.status ?? "unknown";
  // A camera never seen has no frame to show: asking would only log a 404.
  const frame = camera.last_seen_at
    ? el("img", { class: "frame", src: `/api/v1/cameras/${camera.id}/latest.jpg`, alt: `Latest frame of ${camera.name}`,
                  loading: "lazy", "data-camera": camera.id, onerror: (event) => event.target.replaceWith(noFrame()) })
    : noFrame();
  return el("li", { class: "card camera", "data-id": camera.id }, frame,
            el("div", { class: "name" }, camera.name),
            el("span", { class: `status ${state}` }, state),
            camera.last_seen_at ? el("div", { class: "hint" }, `last seen ${ago(camera.last_seen_at)}`) : null);
}

function noFrame() {
  return el("div", { class: "frame none" }, "No frame yet");
}

function eventEntry(event) {
  const node = el("li", { class: "entry event", "data-key": `event:${event.id}` },
                  el("a", { href: `#/events/${event.id}` },
                     el("time", { datetime: event.started_at }, when(event.started_at)),
                     el("strong", {}, event.camera_name ?? ""),
                     el("span", {}, words(event.event_type)),
                     level(event.risk_level),
                     event.summary ? el("span", { class: "summary" }, event.summary) : null));
  return { node, time: event.started_at ?? "" };
}

function alertEntry(alert) {
  const node = el("li", { class: `entry alert ${alert.status}`, "data-key": `alert:${alert.id}` },
                  el("a", { href: "#/alerts" },
                     el("time", { datetime: alert.created_at }, when(alert.created_at)),
                     el("strong", {}, "Alert"),
                     level(alert.severity),
                     el("span", { class: "summary" }, alert.message ?? ""),
                     el("span", { class: "hint" }, words(alert.status))));
  return { node, time: alert.created_at ?? "" };
}
