"""Times event list and search requests against a running Vigil: p50 and p99 over N requests each."""
import http.client
import json
import random
import statistics
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

port, key, requests = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
connection = http.client.HTTPConnection("127.0.0.1", port)


def get(path):
    started = time.perf_counter()
    connection.request("GET", path, headers={"X-API-Key": key})
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status} {body[:300]!r}")
    return elapsed, json.loads(body)


cameras = [item["id"] for item in get("/api/v1/cameras?limit=100")[1]["items"]]
day_ago = (datetime.now(timezone.utc) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
searches = ["person", "front door", "car driveway", "suitcase", "\"entry point\" person", "dog garden", "truck -car"]
cases = {
    "one camera, last 24 h": lambda: f"/api/v1/events?camera_id={random.choice(cameras)}&from={day_ago}&limit=50",
    "newest 50, all cameras": lambda: "/api/v1/events?limit=50",
    "high risk, unreviewed, 24 h": lambda: f"/api/v1/events?risk_level=high,critical&reviewed=false&from={day_ago}&limit=50",
}
for term in searches:
    cases[f"full text: {term}"] = (lambda term: lambda: "/api/v1/events?limit=50&q=" + urllib.parse.quote(term))(term)
print("| query | requests | p50 ms | p99 ms | rows in a page |")
print("|---|---|---|---|---|")
for name, path in cases.items():
    for _ in range(5):
        get(path())  # warm the caches and the connection
    times, rows = [], []
    for _ in range(requests if not name.startswith("full text") else max(20, requests // len(searches))):
        elapsed, body = get(path())
        times.append(elapsed)
        rows.append(len(body["items"]))
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]
    print(f"| {name} | {len(times)} | {statistics.median(times):.1f} | {p99:.1f} | {statistics.median(rows):.0f} |")
# Keyset pages hold their speed deep into the list.
elapsed_first, first = get("/api/v1/events?limit=50")
cursor, pages, deep = first["next_cursor"], 0, []
while cursor and pages < 200:
    elapsed, page = get(f"/api/v1/events?limit=50&after={cursor}")
    deep.append(elapsed)
    cursor, pages = page["next_cursor"], pages + 1
deep.sort()
print(f"| pages 2-{pages + 1} of the newest-first list, by cursor | {pages} | {statistics.median(deep):.1f} | {deep[-1]:.1f} (max) | 50 |")
