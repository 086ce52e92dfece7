"""Drives Debian's Chromium (headless, through chromedriver) through an operator's day against a
Vigil that already has its administrator (first_run.py ran before):

- a camera added from the Cameras page, its device token read from the page where it is shown once;
- an alert rule for people at that camera, made on the Rules page;
- a frame of a person pushed as the camera would, while the overview is open: its event must
  appear on the live timeline without the page reloading;
- the event's page draws one box per detection the API lists;
- the alert the rule raised is acknowledged from the inbox; the API must say so;
- on a phone-sized screen the inbox fits and its buttons work (the alert is resolved there);
- a zone drawn by clicking four points of the frame is stored with those points, normalized;
- a person is added and a photo of their face enrolled; a photo with no face is refused with the
  API's reason.

Prints what it saw as JSON and saves screenshots of the main pages into the folder given."""
import functools
import http.server
import json
import sys
import tempfile
import threading
import time
import urllib.request

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

import chromium

base, login, password, person_photo, face_photo, no_face_photo, shots = sys.argv[1:8]

driver = chromium.start(1280, 1000)
seen = {}


def call(method, path, body=None):
    """The API, from the page itself: the session cookie, same origin."""
    return driver.execute_async_script(
        """const [method, path, body, done] = arguments;
           const options = {method, credentials: 'same-origin', headers: {'Content-Type': 'application/json'}};
           if (body !== null) options.body = JSON.stringify(body);
           fetch('/api/v1' + path, options).then(async r => done({status: r.status, body: await r.text()}),
                                                 e => done({status: 0, body: String(e)}));""", method, path, body)


def json_of(reply):
    return json.loads(reply["body"]) if reply["body"] else None


def shot(name):
    driver.save_screenshot(f"{shots}/{name}.png")


try:
    wait = WebDriverWait(driver, 45)

    driver.get(base + "/")
    sign_in = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "form")))
    chromium.fill(sign_in, {"login": login, "password": password})
    wait.until(ready.text_to_be_present_in_element((By.ID, "who"), login))

    # A camera, added from its page; the device token is on the page this once.
    driver.get(base + "/#/cameras")
    add = wait.until(ready.presence_of_element_located((By.XPATH, "//form[.//h2[text()='Add a camera']]")))
    chromium.fill(add, {"name": "Front Door"})
    token = wait.until(ready.presence_of_element_located((By.ID, "device-token"))).text
    seen["device_token_shown"] = token.startswith("vgd_")
    camera = next(c for c in json_of(call("GET", "/cameras", None))["items"] if c["name"] == "Front Door")
    seen["token_in_camera_json"] = token in json.dumps(camera)

    # An alert rule for people at this camera, made on the Rules page.
    driver.get(base + "/#/rules")
    new_rule = wait.until(ready.presence_of_element_located((By.XPATH, "//form[.//h2[text()='New rule']]")))
    new_rule.find_element(By.CSS_SELECTOR, "input[name=object_types][value=person]").click()
    new_rule.find_element(By.CSS_SELECTOR, f"input[name=camera_ids][value='{camera['id']}']").click()
    Select(new_rule.find_element(By.NAME, "severity")).select_by_value("high")
    chromium.fill(new_rule, {"name": "People at the door", "risk_threshold": "0"})
    wait.until(ready.presence_of_element_located((By.XPATH, "//li//strong[text()='People at the door']")))
    rule = next(r for r in json_of(call("GET", "/alert-rules", None))["items"] if r["name"] == "People at the door")
    seen["rule"] = {key: rule.get(key) for key in ("object_types", "camera_ids", "severity", "risk_threshold", "schedule", "cooldown_seconds")}

    # The overview, live; a frame arrives as the camera sends it; the page must not reload.
    driver.get(base + "/#/")
    wait.until(ready.text_to_be_present_in_element((By.ID, "live-state"), "Live"))
    driver.execute_script("window.__stillTheSamePage = true")
    with open(person_photo, "rb") as photo:
        request = urllib.request.Request(chromium.direct(base) + "/api/v1/ingest/frame", data=photo.read(), method="POST",
                                         headers={"Content-Type": "image/jpeg", "X-Device-Token": token})
    pushed_at = time.monotonic()
    with urllib.request.urlopen(request) as answer:
        seen["ingest_status"] = answer.status
    entry = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#timeline li.event a")))
    seen["timeline_seconds"] = round(time.monotonic() - pushed_at, 1)
    seen["no_reload"] = driver.execute_script("return window.__stillTheSamePage === true")
    seen["timeline_text"] = entry.text
    # The camera's card now shows the frame it sent.
    seen["camera_frame_width"] = WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "const i = document.querySelector(`img[data-camera='${arguments[0]}']`); return i && i.complete && i.naturalWidth", camera["id"]))
    shot("overview")

    # The event: one box per detection.
    entry.click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "svg.boxes")))
    event_id = driver.current_url.rsplit("/", 1)[-1]
    event = json_of(call("GET", f"/events/{event_id}", None))
    seen["detections"] = len(event["detections"])
    seen["boxes"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.boxes rect.box"))
    seen["trace_items"] = len(driver.find_elements(By.CSS_SELECTOR, "ol.trace li"))
    shot("event")
    driver.get(base + "/#/events")
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "table.events tbody tr")))
    shot("events")

    # The inbox: acknowledge the rule's alert.
    def alert_of_rule():
        alerts = json_of(call("GET", "/alerts?active=true", None))["items"]
        return next((a for a in alerts if a.get("rule_name") == "People at the door"), None)
    WebDriverWait(driver, 45, poll_frequency=0.5).until(lambda d: alert_of_rule() is not None)
    alert = alert_of_rule()
    driver.get(base + "/#/alerts")
    card = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"#inbox li[data-id='{alert['id']}']")))
    card.find_element(By.CSS_SELECTOR, "button[data-action=acknowledge]").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"#inbox li[data-id='{alert['id']}'][data-status=acknowledged]")))
    seen["alert_status_after_ack"] = json_of(call("GET", f"/alerts/{alert['id']}", None))["status"]
    shot("alerts")

    # The inbox on a phone: nothing wider than the screen, and resolving works.
    driver.set_window_size(390, 844)
    driver.refresh()
    card = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"#inbox li[data-id='{alert['id']}']")))
    seen["phone_scroll_width"] = driver.execute_script("return document.documentElement.scrollWidth")
    seen["phone_client_width"] = driver.execute_script("return document.documentElement.clientWidth")
    resolve = card.find_element(By.CSS_SELECTOR, "button[data-action=resolve]")
    seen["phone_button_inside"] = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth && r.height >= 32", resolve)
    shot("alerts-phone")
    resolve.click()
    WebDriverWait(driver, 20).until(lambda d: json_of(call("GET", f"/alerts/{alert['id']}", None))["status"] == "resolved")
    seen["alert_status_after_resolve"] = "resolved"
    driver.set_window_size(1280, 1000)

    # A zone drawn on the frame: four clicks, saved, stored normalized.
    driver.get(base + f"/#/cameras/{camera['id']}")
    wait.until(ready.element_to_be_clickable((By.ID, "new-zone"))).click()
    stage = wait.until(ready.presence_of_element_located((By.ID, "zone-stage")))
    wait.until(lambda d: d.execute_script("const i = document.querySelector('#zone-stage img'); return !i || i.complete"))
    width, height = stage.size["width"], stage.size["height"]
    wanted = [(0.2, 0.25), (0.8, 0.25), (0.8, 0.9), (0.2, 0.9)]
    for fx, fy in wanted:
        # Offsets are from the element's centre.
        ActionChains(driver).move_to_element_with_offset(stage, int(width * fx - width / 2), int(height * fy - height / 2)).click().perform()
    editor = driver.find_element(By.CSS_SELECTOR, "form.zone-form")
    seen["handles"] = len(driver.find_elements(By.CSS_SELECTOR, "#zone-stage .handle"))
    name = editor.find_element(By.NAME, "name")
    name.send_keys("Porch")
    editor.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: json_of(call("GET", f"/cameras/{camera['id']}/zones", None))["items"])
    zone = json_of(call("GET", f"/cameras/{camera['id']}/zones", None))["items"][0]
    seen["zone_name"] = zone["name"]
    seen["zone_error"] = max(max(abs(x - wx), abs(y - wy)) for (x, y), (wx, wy) in zip(zone["coordinates"], wanted)) \
        if len(zone["coordinates"]) == len(wanted) else None
    seen["zone_points"] = zone["coordinates"]
    shot("zone-editor")

    # A person and their face.
    driver.get(base + "/#/people")
    add = wait.until(ready.presence_of_element_located((By.XPATH, "//form[.//h2[text()='Add a person']]")))
    chromium.fill(add, {"name": "Ana"})
    upload = wait.until(ready.presence_of_element_located((By.ID, "enrol-photos")))
    upload.send_keys(no_face_photo)
    upload.find_element(By.XPATH, "ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refusal = WebDriverWait(driver, 60).until(
        lambda d: d.find_element(By.XPATH, "//form[.//h2[text()='Enrol photos']]//p[@class='error']").text or False)
    seen["refusal"] = refusal
    upload = driver.find_element(By.ID, "enrol-photos")
    upload.clear()  # Selenium adds files to a multiple-file input; a person picking again replaces them.
    upload.send_keys(face_photo)
    upload.find_element(By.XPATH, "ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery li img"))
    person_id = driver.current_url.rsplit("/", 1)[-1]
    seen["faces_enrolled"] = json_of(call("GET", f"/persons/{person_id}", None))["face_count"]
    shot("person")

    # The rule's dry run from the Rules page: the pushed frame's event matches.
    driver.get(base + "/#/rules")
    rule_card = wait.until(ready.presence_of_element_located((By.XPATH, "//li[.//strong[text()='People at the door']]")))
    rule_card.find_element(By.TAG_NAME, "summary").click()
    rule_card.find_element(By.XPATH, ".//button[text()='Try on recent events']").click()
    seen["dry_run"] = WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return [...arguments[0].querySelectorAll('.trial p')].map(p => p.textContent).find(t => t.includes('of the last')) ?? false",
        rule_card))

    # An API key made from the Admin page is shown once, and works.
    driver.get(base + "/#/admin/keys")
    make = wait.until(ready.presence_of_element_located((By.XPATH, "//form[.//h2[text()='Make a key']]")))
    chromium.fill(make, {"name": "Home Assistant"})
    api_key = wait.until(ready.presence_of_element_located((By.ID, "api-key"))).text
    with urllib.request.urlopen(urllib.request.Request(chromium.direct(base) + "/api/v1/cameras", headers={"X-API-Key": api_key})) as answer:
        seen["api_key_works"] = answer.status == 200

    # Every other page renders (its ready mark) without failing.
    seen["pages_failed"] = []
    for page in ["rules/channels", "admin", "admin/audit", "admin/jobs", "people/clusters", "people/watchlists", "people/models"]:
        driver.execute_script("performance.clearMarks()")
        driver.get(f"{base}/#/{page}")
        mark = f"vigil:ready:{page.split('/')[0]}"
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(f"return performance.getEntriesByName('{mark}').length > 0"))
        if driver.find_elements(By.XPATH, "//h1[text()='Something went wrong']") or driver.find_elements(By.CSS_SELECTOR, "main > p.error"):
            seen["pages_failed"].append(page)
    shot("admin")

    # A page of another origin on the same name (another service on another port: same site, so the
    # Strict cookie goes along) posts to Vigil; the change must be refused: the session survives.
    evil_folder = tempfile.mkdtemp()
    with open(f"{evil_folder}/evil.html", "w") as page:
        page.write("<!doctype html><title>evil</title><p>hello</p>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=evil_folder)
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    vigil_port = base.rsplit(":", 1)[1]
    driver.get(f"http://vigil.lan:{evil.server_address[1]}/evil.html")
    seen["forged_logout"] = driver.execute_async_script(
        """const done = arguments[1];
           fetch(arguments[0], {method: 'POST', mode: 'no-cors', credentials: 'include'})
             .then(() => done('sent'), e => done(String(e)));""", f"http://vigil.lan:{vigil_port}/api/v1/auth/logout")
    evil_port = evil.server_address[1]
    evil.shutdown()
    driver.get(base + "/#/")
    seen["signed_in_after_forgery"] = call("GET", "/auth/me", None)["status"] == 200

    # The light theme, on request.
    driver.find_element(By.ID, "theme").click()
    seen["theme"] = driver.execute_script("return document.documentElement.dataset.theme")
    shot("person-light")

    # The refused photo's 422 and the check for a session before signing in (401) are answers the page expects.
    # The forged logout's 403 and the other origin's missing favicon are answers this test caused.
    seen["console_errors"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                              and f":{evil_port}/" not in entry["message"]
                              and "/auth/logout - Failed to load resource: the server responded with a status of 403" not in entry["message"]
                              and "status of 422" not in entry["message"] and "/auth/me - Failed to load resource: the server responded with a status of 401" not in entry["message"]]
finally:
    driver.quit()
print(json.dumps(seen))
