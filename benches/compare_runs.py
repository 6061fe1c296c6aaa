#!/usr/bin/env python3
"""Criterion medians and relent ÷ peer ratios, per group and case, from one or two runs.

    python3 benches/compare_runs.py [--runs DIR_A [DIR_B]] [GROUP ...]
        e.g. python3 benches/compare_runs.py decision sequence
             python3 benches/compare_runs.py --runs /tmp/critA /tmp/critB decision

Reads <dir>/<group>/<contender>/<case>/new/estimates.json (default dir: target/criterion,
the last run). Where the group declares a throughput in elements (`sequence`: 10 decisions,
`deadline_table`: 100,000 steps), the median is divided by it and shown per element
("/el"); ratios are the same either way. Contenders whose id starts with `relent` are relent's; every other
contender of the same group and case is a peer. Prints a Markdown table: medians per run
and the ratio relent ÷ peer per run (below 1: relent is faster).
"""
import glob
import json
import os
import sys

args = sys.argv[1:]
runs = []
if args and args[0] == "--runs":
    args.pop(0)
    while args and os.path.isdir(args[0]):
        runs.append(args.pop(0))
if not runs:
    runs = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")]
groups = args


def load(root):
    out = {}
    for f in glob.glob(os.path.join(root, "*", "*", "*", "new", "estimates.json")):
        group, who, case = os.path.relpath(f, root).split(os.sep)[:3]
        if groups and group not in groups:
            continue
        v = json.load(open(f))["median"]["point_estimate"]
        meta = json.load(open(os.path.join(os.path.dirname(f), "benchmark.json")))
        per = (meta.get("throughput") or {}).get("Elements")
        out[(group, case, who)] = (v / per, "/el") if per else (v, "")
    return out


def fmt(entry):
    ns, unit = entry
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms{unit}"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs{unit}"
    return f"{ns:.1f} ns{unit}"


def ratio(a, b):
    r = a / b
    return f"1/{1 / r:.0f}" if r < 0.1 else f"{r:.2f}"


data = [load(r) for r in runs]
keys = sorted(set(k for d in data for k in d), key=lambda k: (k[0], k[1], not k[2].startswith("relent"), k[2]))
head = "| group | case | contender | " + " | ".join(f"median {chr(65 + i)}" for i in range(len(runs)))
head += " | " + " | ".join(f"relent ÷ peer {chr(65 + i)}" for i in range(len(runs))) + " |"
print(head)
print("|---|---|---|" + "---:|" * (2 * len(runs)))
for group, case, who in keys:
    meds, rats = [], []
    for d in data:
        v = d.get((group, case, who))
        meds.append(fmt(v) if v is not None else "")
        rel = [x for (g, c, w), x in d.items() if g == group and c == case and w.startswith("relent")]
        if who.startswith("relent") or v is None or not rel:
            rats.append("–")
        else:
            rats.append(ratio(rel[0][0], v[0]))
    print(f"| {group} | {case} | {who} | " + " | ".join(meds) + " | " + " | ".join(rats) + " |")
