"""Drives Debian's Chromium (headless, through chromedriver) through Vigil's first run: the setup
page with the token from the log, sign-in, the overview; then a camera named like an HTML
injection is created from the page itself (a same-origin, cookie-signed change) and must show as
text with no script run; and the overview on a phone-sized screen. Prints what it saw as JSON and
saves screenshots into the folder given."""
import json
import sys

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

import chromium

base, token, shots = sys.argv[1:4]
HOSTILE = "<img src=x onerror=alert(1)>"

driver = chromium.start(1280, 900)
seen = {}
try:
    wait = WebDriverWait(driver, 30)

    driver.get(base + "/")
    wait.until(ready.presence_of_element_located((By.NAME, "setup_token")))
    driver.save_screenshot(f"{shots}/setup.png")
    chromium.fill(driver, {"setup_token": "WRONG", "username": "owner", "email": "owner@example.test", "password": "correct horse battery"})
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".error").text != "")
    seen["wrong_token_error"] = driver.find_element(By.CSS_SELECTOR, ".error").text
    chromium.fill(driver, {"setup_token": token, "username": "owner", "email": "owner@example.test", "password": "correct horse battery"})

    wait.until(ready.presence_of_element_located((By.NAME, "login")))
    chromium.fill(driver, {"login": "owner", "password": "correct horse battery"})
    wait.until(ready.text_to_be_present_in_element((By.ID, "who"), "owner"))
    seen["who"] = driver.find_element(By.ID, "who").text

    created = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch('/api/v1/cameras', {method: 'POST', credentials: 'same-origin',
                 headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: arguments[0]})})
             .then(r => done(r.status), e => done(String(e)));""", HOSTILE)
    seen["camera_created_status"] = created
    driver.refresh()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".cameras li")))
    seen["camera_names"] = [item.find_element(By.CSS_SELECTOR, ".name").text for item in driver.find_elements(By.CSS_SELECTOR, ".cameras li.card")]
    # The name as HTML would have made an image whose source is "x".
    seen["injected_images"] = driver.execute_script("return [...document.images].filter(i => i.getAttribute('src') === 'x').length")
    try:
        seen["alert"] = driver.switch_to.alert.text
    except NoAlertPresentException:
        seen["alert"] = None
    seen["headings"] = [heading.text for heading in driver.find_elements(By.TAG_NAME, "h1")]
    driver.save_screenshot(f"{shots}/overview.png")
    driver.set_window_size(390, 844)
    seen["phone_scroll_width"] = driver.execute_script("return document.documentElement.scrollWidth")
    seen["phone_client_width"] = driver.execute_script("return document.documentElement.clientWidth")
    driver.save_screenshot(f"{shots}/overview-phone.png")
    # Anything the page broke (a CSP refusal, a script error) is in the console.
    seen["console_errors"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                              and "/api/v1/setup" not in entry["message"] and "403" not in entry["message"]]
finally:
    driver.quit()
print(json.dumps(seen))
