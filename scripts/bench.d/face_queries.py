"""Reads bench-faces' psql output: the plan, each query's server time with and without the HNSW
index, and their answers; prints p50/p99 of both, their ratio, and recall@10 of the index."""
import json
import re
import sys

sections, current = {}, None
for line in open(sys.argv[1]).read().splitlines():
    marker = re.fullmatch(r"(plan|indexed|index_ids|exact|exact_ids)(?: (\d+))?", line)
    if marker:
        current = (marker.group(1), int(marker.group(2) or 0))
        sections[current] = []
    elif current is not None and line and not line.startswith("SET"):
        sections[current].append(line)


def times(kind):
    return sorted(json.loads("\n".join(lines))[0]["Execution Time"] for (k, _), lines in sections.items() if k == kind)


def percentile(values, q):
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]


plan = "\n".join(sections[("plan", 0)])
print("plan:", "uses idx_faces_gallery_sface_2021dec" if "idx_faces_gallery_sface_2021dec" in plan else "NO INDEX:\n" + plan)
indexed, exact = times("indexed"), times("exact")
for name, values in (("with_index", indexed), ("exact_scan", exact)):
    print(f"query_{name}_ms p50 {percentile(values, 0.5):.2f} p99 {percentile(values, 0.99):.2f} (n={len(values)})")
print(f"exact_scan / with_index (p50): {percentile(exact, 0.5) / percentile(indexed, 0.5):.0f}x")
recalls = []
for (kind, q), ids in sections.items():
    if kind == "exact_ids":
        found = set(sections.get(("index_ids", q), []))
        recalls.append(len(found & set(ids)) / max(len(ids), 1))
print(f"recall_at_10 {sum(recalls) / len(recalls):.4f} (n={len(recalls)}, hnsw.ef_search 64)")
