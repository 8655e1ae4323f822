#!/usr/bin/env python3
"""Summarises several bench/run.sh reports: for each setup, requests/s and proxy CPU per request
as the median of the runs (min-max), and the ratios that matter, each computed within a run
(both setups measured minutes apart on the same machine) and then summarised the same way;
also the added latency at concurrency 1, the gateway overhead at half load and the streaming
setup's RSS per stream, CPU per event and lost streams.

Usage: bench/aggregate.py REPORT.md [REPORT.md ...]"""
import re
import statistics
import sys

ROW = re.compile(r"^\| (?P<setup>[a-z0-9.+-]+) \| (?P<rps>[0-9.]+) \| [0-9.]+ \| [0-9.]+ \| "
                 r"(?P<p99>[0-9.]+) \| (?P<cpu_pct>[0-9.]+|—) \| (?P<cpu_us>[0-9.]+|—) \|$")
REDIS = re.compile(r"^- (?P<setup>llmgw\+redis[a-z-]*): .*redis-server CPU (?P<cpu>[0-9.]+) us per "
                   r"request.*?(?P<calls>[0-9.]+) Redis calls per request \(INFO commandstats\)")

C1 = re.compile(r"^\| c1 (?P<setup>[a-z0-9.+-]+) \| [0-9.]+ \| (?P<p50>[0-9.]+) \| (?P<p99>[0-9.]+) \| ")
HALF = re.compile(r"^\| half-load llmgw \| [0-9]+ \| (?P<rps>[0-9.]+) \| .* \| <= (?P<p50>[0-9]+|over 100000) \| "
                  r"<= (?P<p99>[0-9]+|over 100000) \|$")
STREAMS = re.compile(r"^\| streams (?P<setup>[a-z0-9.+-]+) \| (?P<held>[0-9]+) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| "
                     r"(?P<kib>-?[0-9.]+) \| (?P<cpu>[0-9.]+) \| [0-9]+ \| (?P<lost>[0-9]+) \|$")

# (label, numerator setup, denominator setup, field)
RATIOS = [
    ("llmgw / nginx requests/s", "llmgw", "nginx", "rps"),
    ("llmgw / haproxy requests/s", "llmgw", "haproxy", "rps"),
    ("llmgw / nginx proxy CPU per request", "llmgw", "nginx", "cpu_us"),
    ("llmgw+limits / llmgw requests/s", "llmgw+limits", "llmgw", "rps"),
    ("llmgw+redis / llmgw+limits requests/s", "llmgw+redis", "llmgw+limits", "rps"),
    ("llmgw+redis-lease / llmgw+limits requests/s", "llmgw+redis-lease", "llmgw+limits", "rps"),
    ("llmgw+cache / nginx requests/s", "llmgw+cache", "nginx", "rps"),
    ("llmgw+trace1 / llmgw requests/s", "llmgw+trace1", "llmgw", "rps"),
    ("llmgw+trace0.01 / llmgw requests/s", "llmgw+trace0.01", "llmgw", "rps"),
    ("llmgw-2w / nginx-2w requests/s (two cores)", "llmgw-2w", "nginx-2w", "rps"),
    ("llmgw-2w / nginx-2w proxy CPU per request (two cores)", "llmgw-2w", "nginx-2w", "cpu_us"),
]


def bound(text):
    """A bucket bound of the overhead histogram in us; past the last bucket counts as 1e5."""
    return 1e5 if text.startswith("over") else float(text)


def parse(path):
    """One report: (setups, redis, extra); extra holds the concurrency-1, half-load and streaming
    figures under keys such as "c1 llmgw", "half-load" and "streams llmgw"."""
    setups, redis, extra = {}, {}, {}
    with open(path, encoding="utf-8") as report:
        for line in report:
            line = line.rstrip("\n")
            row = ROW.match(line)
            if row and row["setup"] not in setups:
                setups[row["setup"]] = {
                    k: float(row[k]) for k in ("rps", "p99", "cpu_us") if row[k] != "—"}
            found = REDIS.match(line)
            if found:
                redis[found["setup"]] = (float(found["cpu"]), float(found["calls"]))
            found = C1.match(line)
            if found:
                extra["c1 " + found["setup"]] = {"p50": float(found["p50"]) * 1000,
                                                  "p99": float(found["p99"]) * 1000}
            found = HALF.match(line)
            if found:
                extra["half-load"] = {"rps": float(found["rps"]), "p50": bound(found["p50"]),
                                      "p99": bound(found["p99"])}
            found = STREAMS.match(line)
            if found:
                extra["streams " + found["setup"]] = {
                    k: float(found[k]) for k in ("held", "kib", "cpu", "lost")}
    return setups, redis, extra


def print_extra(runs):
    """Concurrency 1 (added latency, within each run), the half-load overhead, the streams."""
    c1 = sorted({k[3:] for r in runs for k in r[2] if k.startswith("c1 ") and k != "c1 direct"})
    if c1:
        print("\n| concurrency 1 | added p50 (us) | added p99 (us) |")
        print("| --- | ---: | ---: |")
        for name in c1:
            cells = []
            for q in ("p50", "p99"):
                values = [r[2]["c1 " + name][q] - r[2]["c1 direct"][q] for r in runs
                          if "c1 " + name in r[2] and "c1 direct" in r[2]]
                cells.append(summary(values, 0))
            print(f"| {name} | {cells[0]} | {cells[1]} |")
        values = [(r[2]["c1 llmgw"]["p99"] - r[2]["c1 direct"]["p99"]) /
                  (r[2]["c1 nginx"]["p99"] - r[2]["c1 direct"]["p99"]) for r in runs
                  if all("c1 " + n in r[2] for n in ("llmgw", "nginx", "direct"))
                  and r[2]["c1 nginx"]["p99"] > r[2]["c1 direct"]["p99"]]
        if values:
            print(f"| llmgw / nginx added p99 | {summary(values)} | |")
    half = [r[2]["half-load"] for r in runs if "half-load" in r[2]]
    if half:
        print("\n| llmgw at half load | requests/s | overhead p50 (us, bound) | overhead p99 (us, bound) |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| half-load llmgw | {summary([h['rps'] for h in half], 0)} | "
              f"{summary([h['p50'] for h in half], 0)} | {summary([h['p99'] for h in half], 0)} |")
    streams = sorted({k[8:] for r in runs for k in r[2] if k.startswith("streams ")})
    if streams:
        print("\n| streaming | streams held | RSS per stream (KiB) | proxy CPU per event (us) | streams lost |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in streams:
            got = [r[2]["streams " + name] for r in runs if "streams " + name in r[2]]
            print(f"| {name} | {summary([g['held'] for g in got], 0)} | "
                  f"{summary([g['kib'] for g in got], 1)} | {summary([g['cpu'] for g in got])} | "
                  f"{summary([g['lost'] for g in got], 0)} |")
        for field, label in (("kib", "RSS per stream"), ("cpu", "CPU per event")):
            values = [r[2]["streams llmgw"][field] / r[2]["streams nginx"][field] for r in runs
                      if "streams llmgw" in r[2] and "streams nginx" in r[2]
                      and r[2]["streams nginx"][field] > 0]
            if values:
                print(f"\nllmgw / nginx {label} (each within one run): {summary(values)}")


def summary(values, digits=2):
    if not values:
        return "—"
    text = f"{statistics.median(values):.{digits}f}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}–{max(values):.{digits}f})"
    return text


def main(paths):
    runs = [parse(path) for path in paths]
    print(f"# bench/run.sh, {len(runs)} runs: median (min–max)\n")
    print("| setup | requests/s | proxy CPU per request (us) |")
    print("| --- | ---: | ---: |")
    names = [name for name in runs[0][0]]
    for name in names:
        rps = [r[0][name]["rps"] for r in runs if name in r[0]]
        cpu = [r[0][name]["cpu_us"] for r in runs if name in r[0] and "cpu_us" in r[0][name]]
        print(f"| {name} | {summary(rps, 0)} | {summary(cpu, 1)} |")
    print("\n| ratio (each within one run) | median (min–max) |")
    print("| --- | ---: |")
    for label, top, bottom, field in RATIOS:
        values = [r[0][top][field] / r[0][bottom][field] for r in runs
                  if top in r[0] and bottom in r[0] and r[0][bottom].get(field)]
        if values:
            print(f"| {label} | {summary(values)} |")
    redis_setups = sorted({name for r in runs for name in r[1]})
    if redis_setups:
        print("\n| Redis | redis-server CPU per request (us) | Redis calls per request |")
        print("| --- | ---: | ---: |")
        for name in redis_setups:
            cpu = [r[1][name][0] for r in runs if name in r[1]]
            calls = [r[1][name][1] for r in runs if name in r[1]]
            print(f"| {name} | {summary(cpu, 1)} | {summary(calls)} |")
    print_extra(runs)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
