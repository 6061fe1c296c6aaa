#!/usr/bin/env python3
"""Print criterion's median (and its 95 % interval) for every benchmark of the given groups.

    python3 benches/medians.py [GROUP ...]     e.g. python3 benches/medians.py backoff machine

Reads target/criterion/<group>/<contender>/<case>/new/estimates.json (the last run).
"""
import glob
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
groups = sys.argv[1:]
for f in sorted(glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True)):
    name = os.path.relpath(os.path.dirname(os.path.dirname(f)), root)
    if groups and name.split(os.sep)[0] not in groups:
        continue
    m = json.load(open(f))["median"]
    ci = m["confidence_interval"]
    print(f"{name:55s} median {m['point_estimate']:14.2f} ns  "
          f"[{ci['lower_bound']:.2f}, {ci['upper_bound']:.2f}]")
