"""Debian's Chromium, headless, driven through its chromedriver, as the web UI's browser tests use it.

The browser reaches Vigil at a LAN name over plain HTTP (`http://vigil.lan:PORT`), as a home user
does: such a page is not a secure context, so Chromium sends no Sec-Fetch-* headers, only Origin.
Every `*.lan` name resolves to this machine inside the browser; `direct()` gives the address for
Python's own requests, which do not share the browser's resolver."""
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def start(width=1280, height=1000):
    """A browser whose console (everything it logs) can be read back with get_log("browser")."""
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--host-resolver-rules=MAP *.lan 127.0.0.1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def fill(form, values):
    """Types `values` into the named fields of `form` (an element, or the driver for the page's only form) and submits it."""
    for name, value in values.items():
        element = form.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "form button[type=submit]" if hasattr(form, "current_url") else "button[type=submit]").click()


def direct(url):
    """`url` with its LAN name replaced by the address the browser maps it to."""
    import re
    return re.sub(r"//[a-z0-9-]+\.lan:", "//127.0.0.1:", url)
