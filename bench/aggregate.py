#!/usr/bin/env python3
"""Summarises several bench/run.sh reports: for each setup, requests/s and proxy CPU per request
as the median of the runs (min-max), and the ratios that matter, each computed within a run
(both setups measured minutes apart on the same machine) and then summarised the same way.

Usage: bench/aggregate.py REPORT.md [REPORT.md ...]"""
import re
import statistics
import sys

ROW = re.compile(r"^\| (?P<setup>[a-z0-9.+-]+) \| (?P<rps>[0-9.]+) \| [0-9.]+ \| [0-9.]+ \| "
                 r"(?P<p99>[0-9.]+) \| (?P<cpu_pct>[0-9.]+|—) \| (?P<cpu_us>[0-9.]+|—) \|$")
REDIS = re.compile(r"^- (?P<setup>llmgw\+redis[a-z-]*): .*redis-server CPU (?P<cpu>[0-9.]+) us per "
                   r"request.*?(?P<calls>[0-9.]+) Redis calls per request \(INFO commandstats\)")

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
]


def parse(path):
    setups, redis = {}, {}
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
    return setups, redis


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


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
