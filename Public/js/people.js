// People and faces: persons with their galleries (photos enrolled here, with the API's reason
// when a photo is refused), watchlists, and the clusters of unknown faces to merge or to promote
// into a person.

import { api, el, errorMessage, field, form, heading, main, notify, query, when, words } from "./core.js";

const STATUSES = ["known", "vip", "blacklisted", "unknown"];

function tabs(current) {
  return el("nav", { class: "tabs", "aria-label": "People" },
    [["#/people", "People"], ["#/people/clusters", "Unknown faces"], ["#/people/watchlists", "Watchlists"],
     ["#/people/models", "Recognition models"]]
      .map(([href, label]) => el("a", { href, "aria-current": href === current ? "page" : false }, label)));
}

export async function personList({ params, navigate }) {
  const search = params.get("search") ?? "";
  const reply = await api("GET", `/persons${query({ search, limit: 200 })}`);
  const searchForm = el("form", { class: "filters", role: "search" }, field("Name or alias", "search", { type: "search", value: search }),
                        el("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/people${query({ search: searchForm.querySelector("input").value.trim() })}`);
  });
  const people = reply.body?.items ?? [];
  main.replaceChildren(heading("People"), tabs("#/people"), searchForm,
    people.length ? el("ul", { class: "people" }, people.map((person) => el("li", { class: "card" },
      person.primary_face_id ? el("img", { src: `/api/v1/faces/${person.primary_face_id}/image`, alt: "", loading: "lazy" }) : el("div", { class: "face none" }),
      el("a", { href: `#/people/${person.id}` }, person.name ?? "(no name)"),
      el("span", { class: `person-status ${person.status}` }, words(person.status)),
      el("span", { class: "hint" }, `${person.face_count} face${person.face_count === 1 ? "" : "s"}`))))
      : el("p", { class: "hint" }, search ? "Nobody matches." : "Nobody yet: add a person, then enrol photos of their face."),
    form({
      title: "Add a person",
      fields: [field("Name", "name", { required: true }), field("Status", "status", { options: STATUSES.map((s) => [s, words(s)]), value: "known" }),
               field("Role (optional)", "role"), field("Company (optional)", "company")],
      action: "Add person",
      submit: async (values, fail) => {
        const created = await api("POST", "/persons", values);
        if (created.status !== 201) return fail(errorMessage(created));
        navigate(`#/people/${created.body.id}`);
      },
    }));
}

export async function personPage({ id, navigate }) {
  const [reply, faces, watchlists] = await Promise.all([api("GET", `/persons/${id}`), api("GET", `/persons/${id}/faces`),
                                                        api("GET", "/watchlists?limit=200")]);
  if (reply.status !== 200) {
    main.replaceChildren(heading("Person"), el("p", { class: "error" }, errorMessage(reply)));
    return;
  }
  const person = reply.body;
  const gallery = el("ul", { class: "faces", id: "gallery" });
  const showFaces = (items) => {
    gallery.replaceChildren(...items.map((face) => el("li", {},
      el("img", { src: `/api/v1/faces/${face.id}/image`, alt: `Face, ${words(face.source)}`, loading: "lazy" }),
      el("span", { class: "hint" }, `${words(face.source)}${face.is_primary ? " · primary" : ""} · quality ${Math.round(face.quality * 100)}%`),
      el("button", { type: "button", class: "plain danger", onclick: async () => {
        if (!confirm("Remove this face from the gallery?")) return;
        const removed = await api("DELETE", `/persons/${id}/faces/${face.id}`);
        if (removed.status !== 204) return notify(errorMessage(removed), "bad");
        showFaces((await api("GET", `/persons/${id}/faces`)).body?.items ?? []);
      } }, "Remove"))));
    if (!items.length) gallery.append(el("li", { class: "hint" }, "No face yet: enrol a photo below."));
  };
  showFaces(faces.body?.items ?? []);

  const photos = el("input", { type: "file", name: "photos", id: "enrol-photos", accept: "image/jpeg", multiple: true, required: true });
  const enrol = form({
    title: "Enrol photos",
    hint: "JPEG photos, each showing this person's face alone, front on, sharp and not too small.",
    fields: [el("div", { class: "field" }, el("label", { for: "enrol-photos" }, "Photos"), photos)],
    action: "Enrol",
    submit: async (_, fail) => {
      if (!photos.files.length) return fail("Pick one or more photos first.");
      const body = new FormData();
      [...photos.files].forEach((file, index) => body.append(`image${index + 1}`, file, file.name));
      const enrolled = await api("POST", `/persons/${id}/faces`, body);
      if (enrolled.status !== 201) return fail(errorMessage(enrolled));
      photos.value = "";
      notify(`${enrolled.body.items?.length ?? 1} face${(enrolled.body.items?.length ?? 1) === 1 ? "" : "s"} enrolled.`);
      showFaces((await api("GET", `/persons/${id}/faces`)).body?.items ?? []);
    },
  });

  const onLists = new Set(person.watchlist_ids ?? []);
  const lists = (watchlists.body?.items ?? []);
  main.replaceChildren(
    heading(person.name ?? "(no name)", el("button", { type: "button", class: "plain danger", onclick: async () => {
      if (!confirm(`Delete ${person.name ?? "this person"} and their gallery?`)) return;
      const deleted = await api("DELETE", `/persons/${id}`);
      if (deleted.status !== 204) return notify(errorMessage(deleted), "bad");
      navigate("#/people");
    } }, "Delete")),
    tabs(""),
    el("p", { class: "meta" }, el("span", { class: `person-status ${person.status}` }, words(person.status)),
       person.aliases?.length ? ` · also ${person.aliases.join(", ")}` : "", ` · added ${when(person.created_at)}`),
    el("section", { class: "card" }, el("h2", {}, "Gallery"), gallery),
    enrol,
    form({
      title: "Details",
      fields: [field("Name", "name", { value: person.name, required: true }),
               field("Status", "status", { options: STATUSES.map((s) => [s, words(s)]), value: person.status }),
               field("Role", "role", { value: person.role }), field("Department", "department", { value: person.department }),
               field("Company", "company", { value: person.company }),
               field("Aliases (comma-separated)", "aliases", { value: (person.aliases ?? []).join(", ") }),
               field("Notes", "notes", { type: "textarea", value: person.notes })],
      action: "Save",
      submit: async (values, fail) => {
        const body = { ...values, aliases: (values.aliases ?? "").split(",").map((alias) => alias.trim()).filter(Boolean) };
        const saved = await api("PATCH", `/persons/${id}`, body);
        if (saved.status !== 200) return fail(errorMessage(saved));
        notify("Saved.");
      },
    }),
    lists.length ? el("section", { class: "card" }, el("h2", {}, "Watchlists"), el("ul", { class: "plain-list" }, lists.map((list) =>
      el("li", {}, el("label", { class: "check" }, el("input", { type: "checkbox", checked: onLists.has(list.id), onchange: async (event) => {
        const reply = event.target.checked
          ? await api("POST", `/watchlists/${list.id}/entries`, { person_id: id })
          : await api("DELETE", `/watchlists/${list.id}/entries/${id}`);
        if (reply.status >= 300) {
          event.target.checked = !event.target.checked;
          return notify(errorMessage(reply), "bad");
        }
        notify(event.target.checked ? `Added to ${list.name}.` : `Taken off ${list.name}.`);
      } }), `${list.name} (${words(list.watch_type)})`))))) : null);
}

export async function clusterList({ navigate }) {
  const [reply, people] = await Promise.all([api("GET", "/face-clusters?status=active&limit=200"), api("GET", "/persons?limit=500")]);
  const clusters = reply.body?.items ?? [];
  const personOptions = (people.body?.items ?? []).map((person) => [person.id, person.name ?? "(no name)"]);
  main.replaceChildren(heading("Unknown faces"), tabs("#/people/clusters"),
    el("p", { class: "hint" }, "Faces Vigil could not name, grouped by likeness. Promote a group to a person to recognize them from now on."),
    clusters.length ? el("ul", { class: "clusters" }, clusters.map((cluster) => {
      const others = clusters.filter((other) => other.id !== cluster.id).map((other) => [other.id, other.label]);
      return el("li", { class: "card" },
        cluster.representative_face_id ? el("img", { src: `/api/v1/faces/${cluster.representative_face_id}/image`, alt: cluster.label, loading: "lazy" }) : null,
        el("strong", {}, cluster.label),
        el("span", { class: "hint" }, `${cluster.sample_count} sighting${cluster.sample_count === 1 ? "" : "s"}, last ${when(cluster.last_seen)}`),
        form({
          className: "inline",
          fields: [field("Promote to", "person_id", { options: [["", "a new person…"], ...personOptions] }),
                   field("New person's name", "name", { placeholder: cluster.label })],
          action: "Promote",
          submit: async (values, fail) => {
            const body = values.person_id ? { person_id: values.person_id } : { person: { name: values.name ?? cluster.label, status: "known" } };
            const promoted = await api("POST", `/face-clusters/${cluster.id}/promote`, body);
            if (promoted.status !== 200 && promoted.status !== 201) return fail(errorMessage(promoted));
            notify(`${cluster.label} promoted.`);
            navigate(`#/people/${promoted.body.person.id}`);
          },
        }),
        others.length ? form({
          className: "inline",
          fields: [field("Same person as", "into_cluster_id", { options: others })],
          action: "Merge",
          submit: async (values, fail) => {
            const merged = await api("POST", `/face-clusters/${cluster.id}/merge`, values);
            if (merged.status !== 200) return fail(errorMessage(merged));
            notify(`${cluster.label} merged.`);
            clusterList({ navigate });
          },
        }) : null);
    })) : el("p", { class: "hint" }, "No unknown face waiting."));
}

export async function watchlistList({ navigate }) {
  const reply = await api("GET", "/watchlists?limit=200");
  main.replaceChildren(heading("Watchlists"), tabs("#/people/watchlists"),
    el("p", { class: "hint" }, "A person on a blacklist or suspect list raises an event's risk; alert rules can name watchlists."),
    el("ul", { class: "plain-list" }, (reply.body?.items ?? []).map((list) => el("li", { class: "card" },
      el("strong", {}, list.name), ` ${words(list.watch_type)} · ${list.entry_count} ${list.entry_count === 1 ? "person" : "people"}`,
      list.is_active ? "" : " · off", list.description ? el("p", { class: "hint" }, list.description) : null))),
    form({
      title: "New watchlist",
      fields: [field("Name", "name", { required: true }),
               field("Kind", "watch_type", { options: [["blacklist", "Blacklist"], ["suspect", "Suspects"], ["vip", "VIP"], ["custom", "Custom"]] }),
               field("Description", "description")],
      action: "Create",
      submit: async (values, fail) => {
        const created = await api("POST", "/watchlists", values);
        if (created.status !== 201) return fail(errorMessage(created));
        watchlistList({ navigate });
      },
    }));
}

/** Recognition models: calibrate on confirmed faces (a queued job), approve a version into production, roll back. */
export async function modelList({ navigate }) {
  const [versions, datasets, jobs] = await Promise.all([api("GET", "/model-versions?limit=100"), api("GET", "/training-datasets?limit=100"),
                                                        api("GET", "/training-jobs?limit=20")]);
  const metric = (value) => (typeof value === "number" ? `${Math.round(value * 1000) / 10}%` : "—");
  const act = async (path, done) => {
    const reply = await api("POST", path);
    if (reply.status !== 200 && reply.status !== 201) return notify(errorMessage(reply), "bad");
    notify(done);
    modelList({ navigate });
  };
  main.replaceChildren(heading("Recognition models"), tabs("#/people/models"),
    el("p", { class: "hint" }, "A version is an embedding model with a threshold calibrated on confirmed faces. Approving one puts it in production; rolling back restores the one it replaced."),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Version", "Model", "Threshold", "Accuracy", "Precision", "Recall", "False matches", "Made", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, (versions.body?.items ?? []).map((version) => el("tr", {},
        el("td", {}, version.version_string, version.is_production ? el("strong", {}, " (production)") : ""),
        el("td", {}, version.embedding_model), el("td", {}, version.threshold.toFixed(3)),
        el("td", {}, metric(version.metrics?.accuracy)), el("td", {}, metric(version.metrics?.precision)),
        el("td", {}, metric(version.metrics?.recall)), el("td", {}, metric(version.metrics?.false_match_rate)),
        el("td", {}, when(version.created_at)),
        el("td", {}, version.is_production
          ? (version.is_rollback_available ? el("button", { type: "button", class: "plain", onclick: () => act("/model-versions/rollback", "Rolled back.") }, "Roll back") : null)
          : el("button", { type: "button", class: "plain", onclick: () => act(`/model-versions/${version.id}/approve`, "Approved: now in production.") }, "Approve"))))))),
    el("h2", {}, "Calibration runs"),
    el("ul", { class: "plain-list" }, (jobs.body?.items ?? []).map((job) => el("li", {},
      `${job.model_version_to}: ${words(job.status)}`, job.error ? ` — ${job.error}` : "", ` (${when(job.created_at)})`))),
    el("div", { class: "columns" },
      form({
        title: "Freeze a dataset",
        hint: "Takes the gallery faces of everyone (or of the people the API names) as they are now.",
        fields: [field("Name", "name", { required: true })],
        action: "Make dataset",
        submit: async (values, fail) => {
          const made = await api("POST", "/training-datasets", values);
          if (made.status !== 201) return fail(errorMessage(made));
          modelList({ navigate });
        },
      }),
      form({
        title: "Calibrate a new version",
        fields: [field("Dataset", "dataset_id", { options: (datasets.body?.items ?? []).map((d) => [d.id, `${d.name} (${d.face_count} faces)`]) }),
                 field("Version name (optional)", "version_string")],
        action: "Start",
        submit: async (values, fail) => {
          if (!values.dataset_id) return fail("Freeze a dataset first.");
          const started = await api("POST", "/training-jobs", values);
          if (started.status !== 201 && started.status !== 202) return fail(errorMessage(started));
          notify("Calibration queued; its progress is on the jobs page.");
          modelList({ navigate });
        },
      })));
}
