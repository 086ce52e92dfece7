"""Measures the web UI's budgets in headless Chromium: see scripts/bench-ui. The pages mark
`vigil:ready:<page>` when they have rendered their data; times are from the navigation's start."""
import statistics
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, "Tests/VigilServerTests/Fixtures/ui")
import chromium  # noqa: E402

base, login, password = sys.argv[1:4]
RUNS = 10
driver = chromium.start(1280, 1000)
wait = WebDriverWait(driver, 60)


def ready_mark(page):
    """Milliseconds from navigation start to the page's ready mark, once it is there."""
    script = f"const m = performance.getEntriesByName('vigil:ready:{page}'); return m.length ? m[0].startTime : null"
    return wait.until(lambda d: d.execute_script(script))


try:
    driver.get(base + "/")
    chromium.fill(wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "form"))), {"login": login, "password": password})
    wait.until(ready.text_to_be_present_in_element((By.ID, "who"), login))

    # The dashboard, loaded afresh each time (the first run with an empty cache).
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    renders = []
    for run in range(RUNS):
        driver.get(f"{base}/?run={run}#/")
        renders.append(ready_mark("overview"))
        if run == 0:
            # What the cold load fetched: every module and style sheet, uncompressed.
            loaded = driver.execute_script("""
                return performance.getEntriesByType('resource').filter(e => /\\.(js|css)(\\?|$)/.test(e.name))
                  .map(e => [e.name, e.decodedBodySize])""")
    first = renders[0]
    print(f"dashboard first render: cold cache {first:.0f} ms; over {RUNS} loads p50 {statistics.median(renders):.0f} ms, "
          f"max {max(renders):.0f} ms (budget 1000 ms)")
    timeline = len(driver.find_elements(By.CSS_SELECTOR, "#timeline li"))
    total = sum(size for _, size in loaded)
    print(f"JS and CSS the dashboard loads: {total} bytes uncompressed in {len(loaded)} files (budget 150000); "
          f"timeline shows {timeline} entries")

    # The events list, grown to 1,000 rows a page at a time; each page timed from the click to
    # its rows in the table; the main thread's longest task recorded throughout.
    driver.get(f"{base}/?events#/events")
    ready_mark("events")
    driver.execute_script("""
        window.__longest = 0;
        new PerformanceObserver(list => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration); })
          .observe({type: 'longtask', buffered: true});""")
    pages = []
    while True:
        rows = len(driver.find_elements(By.CSS_SELECTOR, "table.events tbody tr"))
        more = driver.find_element(By.XPATH, "//button[text()='Show more']")
        if rows >= 1000 or not more.is_displayed():
            break
        pages.append(driver.execute_async_script("""
            const [button, before, done] = arguments;
            const body = document.querySelector('table.events tbody');
            const start = performance.now();
            const seen = new MutationObserver(() => {
              if (body.children.length > before) { seen.disconnect(); requestAnimationFrame(() => done(performance.now() - start)); }
            });
            seen.observe(body, {childList: true});
            button.click();""", more, rows))
    rows = len(driver.find_elements(By.CSS_SELECTOR, "table.events tbody tr"))
    # Responsiveness with every row there: typing in the search box until the next painted frame,
    # and scrolling to the end until the next frame.
    typing = driver.execute_async_script("""
        const done = arguments[0];
        const input = document.querySelector('input[name=q]');
        const start = performance.now();
        input.focus(); input.value = 'person at garage';
        input.dispatchEvent(new Event('input', {bubbles: true}));
        requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));""")
    scrolling = driver.execute_async_script("""
        const done = arguments[0];
        const start = performance.now();
        window.scrollTo(0, document.body.scrollHeight);
        requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));""")
    longest = driver.execute_script("return window.__longest")
    print(f"events page: {rows} rows in {len(pages) + 1} pages of 50; each further page p50 {statistics.median(pages):.0f} ms, "
          f"max {max(pages):.0f} ms; longest main-thread task {longest:.0f} ms; at {rows} rows typing shows in {typing:.0f} ms, "
          f"scrolling to the end in {scrolling:.0f} ms")
finally:
    driver.quit()
