#!/usr/bin/env python3
"""Criterion's medians, as text lines or as Markdown tables of relent ÷ peer ratios.

    python3 benches/medians.py [GROUP ...]
        One line per benchmark: its median and 95 % interval (ns).
    python3 benches/medians.py --markdown [--since EPOCH] [GROUP ...]
        One Markdown table per group: each peer's median next to relent's in the same
        case, with the ratio relent ÷ peer (below 1: relent is faster).

Reads target/criterion/<group>/<function>[/<case>]/new/{benchmark,estimates}.json (the
last run). Nothing here knows a group's name: a contender whose function id starts with
`relent` is relent's, every other one is a peer (or a baseline such as `bare`), and
contenders are paired within a group by their case (criterion's `value_str`, the second
half of a `BenchmarkId`). A peer with no relent contender in its case gets no ratio.
`--since` skips results older than that Unix time (so a report shows only its own run).
"""
import glob
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")


def load(groups, since):
    """Yield (group, function, case, median_ns, lower_ns, upper_ns) for every result."""
    pattern = os.path.join(ROOT, "**", "new", "estimates.json")
    for f in sorted(glob.glob(pattern, recursive=True)):
        if since is not None and os.path.getmtime(f) < since:
            continue
        new = os.path.dirname(f)
        try:
            bench = json.load(open(os.path.join(new, "benchmark.json")))
            group, function, case = bench["group_id"], bench.get("function_id"), bench.get("value_str")
        except (OSError, KeyError, ValueError):
            parts = os.path.relpath(os.path.dirname(new), ROOT).split(os.sep)
            group, function, case = parts[0], "/".join(parts[1:2]) or None, "/".join(parts[2:]) or None
        if function is None:  # a group-less bench_function: the id is the group
            group, function = "(ungrouped)", group
        if groups and group not in groups:
            continue
        m = json.load(open(f))["median"]
        ci = m["confidence_interval"]
        yield group, function, case or "", m["point_estimate"], ci["lower_bound"], ci["upper_bound"]


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.1f} ns"


def fmt_ratio(r):
    if r >= 0.1:
        return f"{r:.2f}"
    return f"1/{1 / r:.0f}"


def markdown(rows):
    by_group = {}
    for group, function, case, median, _, _ in rows:
        by_group.setdefault(group, []).append((function, case, median))
    out = []
    for group in sorted(by_group):
        out.append(f"### {group}\n")
        out.append("| case | relent contender | relent median | peer | peer median | relent ÷ peer |")
        out.append("|---|---|---:|---|---:|---:|")
        items = by_group[group]
        cases = sorted({case for _, case, _ in items})
        for case in cases:
            here = [(f, m) for f, c, m in items if c == case]
            relents = sorted((f, m) for f, m in here if f.startswith("relent"))
            peers = sorted((f, m) for f, m in here if not f.startswith("relent"))
            label = f"`{case}`" if case else "—"
            if not relents:
                for p, pm in peers:
                    out.append(f"| {label} | — | | {p} | {fmt_time(pm)} | — |")
            elif not peers:
                for r, rm in relents:
                    out.append(f"| {label} | {r} | {fmt_time(rm)} | — | | — |")
            else:
                for r, rm in relents:
                    for p, pm in peers:
                        ratio = f"**{fmt_ratio(rm / pm)}**" if pm > 0 else "—"
                        out.append(f"| {label} | {r} | {fmt_time(rm)} | {p} | {fmt_time(pm)} | {ratio} |")
        out.append("")
    return "\n".join(out)


def main(argv):
    md = False
    since = None
    groups = []
    it = iter(argv)
    for a in it:
        if a == "--markdown":
            md = True
        elif a == "--since":
            since = float(next(it))
        else:
            groups.append(a)
    rows = list(load(groups, since))
    if md:
        print(markdown(rows))
        return
    for group, function, case, median, lo, hi in rows:
        name = "/".join(x for x in (group, function, case) if x)
        print(f"{name:55s} median {median:14.2f} ns  [{lo:.2f}, {hi:.2f}]")


if __name__ == "__main__":
    main(sys.argv[1:])
