#!/usr/bin/env python3
"""Markdown tables of a `vitedit bench --json` result, as the README and docs/bundle.md show them.

usage: scripts/bench-tables.py RESULT.json [--vs hypernet] [--points] [--paired A,B ...]

Per method: its best GR (SR >= the run's floor) at LR_sensitive >= 0.85, 0.90 and 0.70 and at
LR >= 0.99 and 0.95, from the sweep points; then ΔGR at matched locality of --vs against every other
method, on both axes, with the 95 % paired-bootstrap interval the bench computed. --points
also lists every sweep point. --paired A,B compares two methods point by point at the same sweep
value (same budget, same edit images): the mean difference of SR, GR, LR and LR_sensitive with a
95 % paired bootstrap over failure groups (2000 replicates, seed 0) — the budget a user sets,
rather than the matched-locality fronts.
"""
import argparse
import json
import random


def best(runs, method, axis, floor, min_sr):
    pts = [r for r in runs if r["method"] == method and r["SR"] >= min_sr and r[axis] >= floor]
    if not pts:
        return "—"
    r = max(pts, key=lambda r: r["GR"])
    where = r["sweep"]["key"] + "=" + r["sweep"]["value"] if "sweep" in r else ""
    return f"{r['GR']:.3f} ({where})" if where else f"{r['GR']:.3f}"


def fmt_delta(d):
    if d["delta"] is None:
        return "no common range"
    lo, hi = d["ci95"] if d["ci95"] else (None, None)
    verdict = "ahead" if lo is not None and lo > 0 else "behind" if hi is not None and hi < 0 else "tie"
    ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
    return f"{d['delta']:+.3f}{ci} {verdict} (LR {d['lr_range'][0]:.3f}–{d['lr_range'][1]:.3f})"


def paired_points(runs, a, b, reps=2000, seed=0):
    """Per sweep value both methods ran: mean(A - B) over edits and its 95 % bootstrap over groups."""
    by = {(r["method"], r["sweep"]["value"] if "sweep" in r else ""): r for r in runs}
    rng = random.Random(seed)
    for (m, v), ra in by.items():
        if m != a or (b, v) not in by:
            continue
        rb = by[(b, v)]
        groups = sorted(set(ra["groups"]) & set(rb["groups"]))
        cells = []
        for key in ("SR", "GR", "LR", "LR_sensitive"):
            # Group sums weighted by edits, so the mean over a resample is the mean over its edits.
            d = [(ra["groups"][g][key] - rb["groups"][g][key]) * ra["groups"][g]["edits"] for g in groups]
            n = [ra["groups"][g]["edits"] for g in groups]
            est = sum(d) / sum(n)
            boots = []
            for _ in range(reps):
                pick = [rng.randrange(len(groups)) for _ in groups]
                boots.append(sum(d[i] for i in pick) / sum(n[i] for i in pick))
            boots.sort()
            lo, hi = boots[int(0.025 * reps)], boots[int(0.975 * reps) - 1]
            verdict = "" if lo <= 0 <= hi else (" **A**" if lo > 0 else " **B**")
            cells.append(f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}]{verdict}")
        yield v, cells


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("result")
    ap.add_argument("--vs", default="hypernet")
    ap.add_argument("--points", action="store_true")
    ap.add_argument("--paired", action="append", default=[], metavar="A,B")
    a = ap.parse_args()
    j = json.load(open(a.result))
    runs, min_sr = j["runs"], j["bootstrap"]["min_SR"]
    methods = list(dict.fromkeys(r["method"] for r in runs))
    floors = [("LR_sensitive", 0.85), ("LR_sensitive", 0.90), ("LR", 0.99), ("LR_sensitive", 0.70), ("LR", 0.95)]
    print("| method | best GR at " + " | ".join(f"{axis} ≥ {f:.2f}" for axis, f in floors) + " |")
    print("|---|" + "---|" * len(floors))
    for m in methods:
        print(f"| {m} | " + " | ".join(best(runs, m, axis, f, min_sr) for axis, f in floors) + " |")
    print()
    print(f"| ΔGR of {a.vs} over | at matched LR (typical) | at matched LR_sensitive |")
    print("|---|---|---|")
    for c in j["comparisons"]:
        if c["a"] == a.vs:
            print(f"| {c['b']} | {fmt_delta(c['LR'])} | {fmt_delta(c['LR_sensitive'])} |")
    if a.points:
        print()
        print("| method | point | SR | GR | LR | LR_sensitive | s/edit | steps |")
        print("|---|---|---|---|---|---|---|---|")
        for r in runs:
            pt = r["sweep"]["key"] + "=" + r["sweep"]["value"] if "sweep" in r else ""
            print(f"| {r['method']} | {pt} | {r['SR']:.3f} | {r['GR']:.3f} | {r['LR']:.3f} | {r['LR_sensitive']:.3f} | "
                  f"{r['time_s']:.2f} | {r['steps']:.1f} |")


    for pair in a.paired:
        ma, mb = pair.split(",")
        print()
        print(f"| {ma} − {mb} at | SR | GR | LR | LR_sensitive |")
        print("|---|---|---|---|---|")
        for v, cells in paired_points(runs, ma, mb):
            print(f"| {v} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
