// Events: the list with its filters and full-text search, a page at a time (keyset: "Show more"
// asks for the events after the last one shown); and an event in full, with the boxes of its
// detections drawn over its frame from the detections themselves.

import { api, el, errorMessage, field, filterValues, form, heading, level, localInput, main, notify, pagedTable, query, svg, when, words } from "./core.js";

const EVENT_TYPES = ["human_detected", "face_detected", "person_recognized", "motion_detected", "object_detected",
                     "interaction_detected", "stock_changed", "empty_confirmed", "camera_obstructed", "scene_shifted"];
const LEVELS = ["low", "medium", "high", "critical"];
const PAGE = 50;

export async function eventList({ params, navigate }) {
  const cameras = (await api("GET", "/cameras?limit=500")).body?.items ?? [];
  const filters = el("form", { class: "filters card", role: "search" },
    field("Search", "q", { type: "search", value: params.get("q"), placeholder: "words, \"a phrase\", -without" }),
    field("Camera", "camera_id", { value: params.get("camera_id"), options: [["", "All cameras"], ...cameras.map((c) => [c.id, c.name])] }),
    field("Risk", "risk_level", { value: params.get("risk_level"), options: [["", "Any risk"], ...LEVELS.map((l) => [l, words(l)])] }),
    field("Type", "event_type", { value: params.get("event_type"), options: [["", "Any type"], ...EVENT_TYPES.map((t) => [t, words(t)])] }),
    field("Reviewed", "reviewed", { value: params.get("reviewed"), options: [["", "Either"], ["false", "Not reviewed"], ["true", "Reviewed"]] }),
    field("Objects", "object_type", { value: params.get("object_type"), placeholder: "person, car" }),
    field("From", "from", { type: "datetime-local", value: localInput(params.get("from")) }),
    field("To", "to", { type: "datetime-local", value: localInput(params.get("to")) }),
    el("div", { class: "filter-actions" }, el("button", { type: "submit" }, "Apply"),
       el("button", { type: "button", class: "plain", onclick: () => navigate("#/events") }, "Clear")));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/events${query(filterValues(filters))}`);
  });

  const filter = Object.fromEntries([...params.entries()].filter(([key]) => key !== "after"));
  const table = await pagedTable({
    path: "/events", params: filter, limit: PAGE, className: "events", row: eventRow,
    headings: ["Started", "Camera", "Type", "Risk", "Objects", "Summary", "Reviewed"],
    describe: (shown, more) => (shown ? `${shown} event${shown === 1 ? "" : "s"} shown${more ? "; more match" : ""}.` : "No event matches."),
  });
  main.replaceChildren(heading("Events"), filters, ...table);
}

function eventRow(event) {
  return el("tr", { "data-id": event.id },
    el("td", {}, el("a", { href: `#/events/${event.id}` }, when(event.started_at))),
    el("td", {}, event.camera_name ?? ""),
    el("td", {}, words(event.event_type)),
    el("td", {}, level(event.risk_level), event.risk_score !== undefined ? ` ${event.risk_score}` : ""),
    el("td", {}, (event.object_types ?? []).join(", ")),
    el("td", { class: "summary" }, event.summary ?? ""),
    el("td", {}, event.reviewed ? "✓" : ""));
}

export async function eventDetail({ id }) {
  const [reply, faces] = await Promise.all([api("GET", `/events/${id}`), api("GET", `/events/${id}/faces`)]);
  if (reply.status !== 200) {
    main.replaceChildren(heading("Event"), el("p", { class: "error" }, errorMessage(reply)));
    return;
  }
  const event = reply.body;
  const details = event.details ?? {};
  main.replaceChildren(
    heading(`${words(event.event_type)} at ${event.camera_name ?? "a camera"}`),
    el("p", { class: "meta" }, when(event.started_at), event.ended_at ? ` – ${when(event.ended_at)}` : " (still open)",
       " · ", level(event.risk_level), event.risk_score !== undefined ? ` risk ${event.risk_score}/100` : "",
       event.is_fast_path ? " · raised at once (fast path)" : ""),
    frames(event),
    section("Why", event.summary ? el("p", { class: "summary" }, event.summary) : null,
            event.reasoning ? el("p", {}, event.reasoning) : null,
            list("Decision trace", details.decision_trace),
            scores(details.scores)),
    activities(event.suspicious_activities ?? []),
    people(faces.body?.items ?? []),
    (faces.body?.items ?? []).length ? await faceReview(event) : null,
    review(event));
}

/** Who the event shows: confirm, reject ("this is not them"), correct the name, merge, delete its faces. */
async function faceReview(event) {
  const people = (await api("GET", "/persons?limit=500")).body?.items ?? [];
  return form({
    title: "Who is this?",
    hint: "Your answer changes who Vigil recognizes from now on: a rejected face leaves the person's gallery.",
    fields: [field("Answer", "action", { options: [["confirm", "Right person"], ["reject", "Not this person"], ["correct_name", "It is someone else…"],
                                                   ["merge", "Same as a known person (merge)…"], ["delete", "Delete these faces"]] }),
             field("Person (for someone else or merge)", "person_id", { options: [["", "—"], ...people.map((p) => [p.id, p.name ?? "(no name)"])] }),
             field("Notes", "notes")],
    action: "Record answer",
    submit: async (values, fail) => {
      const reply = await api("POST", `/events/${event.id}/review`, values);
      if (reply.status !== 201 && reply.status !== 200) return fail(errorMessage(reply));
      notify("Answer recorded; the event is judged again.");
    },
  });
}

/** The frames the event kept; the main one with every detection's box drawn over it. */
function frames(event) {
  const images = event.images ?? [];
  const during = images.find((image) => image.role === "during") ?? images.find((image) => image.role !== "thumbnail");
  const detections = event.detections ?? [];
  const figure = el("figure", { class: "frame-view" });
  if (during) {
    const overlay = svg("svg", { class: "boxes", viewBox: "0 0 1 1", preserveAspectRatio: "none", role: "img",
                                 "aria-label": `${detections.length} detection box${detections.length === 1 ? "" : "es"}` });
    for (const detection of detections) {
      const box = detection.bbox;
      const width = box.frame_width || 1;
      const height = box.frame_height || 1;
      const other = detection.capture_id && during.capture_id && detection.capture_id !== during.capture_id;
      overlay.append(svg("rect", { class: `box ${detection.object_type}${other ? " other-frame" : ""}`, "data-detection": detection.id,
                                   x: box.x / width, y: box.y / height, width: box.width / width, height: box.height / height },
                         svg("title", {}, `${detection.object_type} ${Math.round(detection.confidence * 100)}%${other ? " (another frame)" : ""}`)));
    }
    figure.append(el("div", { class: "stage" }, el("img", { src: during.url, alt: "The event's frame" }), overlay),
                  el("figcaption", { class: "hint" }, `${detections.length} detection${detections.length === 1 ? "" : "s"}; `,
                     "dashed boxes come from other frames of the event."));
  } else {
    figure.append(el("p", { class: "hint" }, "No frame was kept for this event."));
  }
  const others = images.filter((image) => image !== during && image.role !== "thumbnail");
  if (others.length) {
    figure.append(el("div", { class: "thumbs" }, others.map((image) =>
      el("a", { href: image.url, target: "_blank", rel: "noopener" }, el("img", { src: image.url, alt: `${image.role} frame`, loading: "lazy" }),
         el("span", {}, words(image.role))))));
  }
  return figure;
}

function section(title, ...content) {
  const filled = content.filter(Boolean);
  return filled.length ? el("section", { class: "card" }, el("h2", {}, title), filled) : null;
}

function list(title, items) {
  if (!Array.isArray(items) || !items.length) return null;
  return el("div", {}, el("h3", {}, title), el("ol", { class: "trace" }, items.map((item) => el("li", {}, String(item)))));
}

function scores(values) {
  if (!values || typeof values !== "object" || !Object.keys(values).length) return null;
  return el("div", {}, el("h3", {}, "Scores"),
            el("dl", { class: "scores" }, Object.entries(values).flatMap(([name, value]) =>
              [el("dt", {}, words(name)), el("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value))])));
}

function activities(items) {
  if (!items.length) return null;
  return section("Suspicious activity", el("ul", {}, items.map((activity) =>
    el("li", {}, level(activity.severity), ` ${words(activity.activity_type)} at ${when(activity.timestamp)}`,
       ` (${Math.round((activity.confidence ?? 0) * 100)}% sure)`))));
}

function people(faces) {
  if (!faces.length) return null;
  return section("Faces", el("ul", { class: "faces" }, faces.map((face) =>
    el("li", {}, el("img", { src: `/api/v1/faces/${face.id}/image`, alt: "Face", loading: "lazy" }),
       face.person_id ? el("a", { href: `#/people/${face.person_id}` }, "Recognized person")
                      : el("a", { href: "#/people/clusters" }, "Unknown face"),
       el("span", { class: "hint" }, ` quality ${Math.round((face.quality ?? 0) * 100)}%`)))));
}

/** Reviewed, notes and the operator's feedback on the judgement. */
function review(event) {
  const reviewForm = form({
    title: "Review",
    fields: [field("Reviewed", "reviewed", { type: "checkbox", value: event.reviewed }),
             field("Notes", "notes", { type: "textarea", value: event.notes ?? "" })],
    action: "Save review",
    submit: async (values, fail) => {
      const reply = await api("PATCH", `/events/${event.id}`, { reviewed: values.reviewed, notes: values.notes ?? null });
      if (reply.status !== 200) return fail(errorMessage(reply));
      notify("Review saved.");
    },
  });
  const feedback = event.feedback;
  const feedbackForm = form({
    title: "Was the judgement right?",
    hint: feedback ? `Feedback given: ${words(feedback.feedback_type)}.` : "Your answer is kept with the event for tuning.",
    fields: [field("Verdict", "feedback_type", { options: [["accurate", "Accurate"], ["false_positive", "False alarm"],
                                                           ["missed_threat", "Missed a threat"], ["severity_wrong", "Wrong severity"]] }),
             field("Severity it should have had", "expected_severity", { options: [["", "—"], ...LEVELS.map((l) => [l, words(l)])] }),
             field("Notes", "notes", { type: "textarea" })],
    action: "Send feedback",
    submit: async (values, fail) => {
      const reply = await api("POST", `/events/${event.id}/feedback`, values);
      if (reply.status >= 300) return fail(errorMessage(reply));
      notify("Feedback recorded.");
    },
  });
  return el("div", { class: "columns" }, reviewForm, feedbackForm);
}
