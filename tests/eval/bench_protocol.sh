#!/usr/bin/env bash
# `vitedit bench --protocol paper` with explicit options beside it: the protocol fills in what was
# not given (the sweeps), the given options win (editor, methods, edits per group), and the JSON
# records the protocol, per-edit records on both locality axes and ΔGR for every pair of methods.
# usage: bench_protocol.sh VITEDIT SOURCE_DIR
set -euo pipefail
vitedit=$1 src=$2
model=$src/samples/models/vit-fmnist.safetensors
bench=$src/samples/bench
[ -f "$model" ] && [ -d "$bench/locality-typical" ] || { echo "SKIPPED: no bundled model/benchmark"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if "$vitedit" bench --model "$model" --bench "$bench" --protocol papr > "$tmp/bad.txt" 2>&1; then
  echo "FAIL: an unknown protocol was accepted"; exit 1
fi
grep -q "unknown protocol 'papr' (known: default, paper, paper-reference, quick, none)" "$tmp/bad.txt" || { cat "$tmp/bad.txt"; echo "FAIL: no clear error"; exit 1; }
"$vitedit" bench --model "$model" --bench "$bench" --backend onednn --protocol paper \
  --locator random --baseline ft-l2 --editor rmsprop:steps=4 --max-edits-per-group 1 \
  --group 6_shirt_heldout --group 3_dress_sketch --bootstrap 200 --compare random,ft-l2 \
  --json "$tmp/out.json" --plot "$tmp/out.svg" > "$tmp/out.txt" 2> "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
cat "$tmp/out.txt"
grep -q "^bench: protocol paper --sweep=sparsity=0.05,0.1,0.25,0.5,0.75 --penalty=0.1,0.05,0.025,0.01,0.005,0.001,0$" "$tmp/err.txt" \
  || { cat "$tmp/err.txt"; echo "FAIL: the applied protocol options are not printed as expected"; exit 1; }
grep -q "ΔGR random - ft-l2 at matched LR_sensitive" "$tmp/out.txt" || { echo "FAIL: --compare printed nothing"; exit 1; }
grep -q "LR_sensitive (narrow-margin set)" "$tmp/out.svg" || { echo "FAIL: the plot lacks its sensitive panel"; exit 1; }
python3 - "$tmp/out.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["protocol"]["name"] == "paper", j["protocol"]
assert j["protocol"]["applied"] == ["--sweep=sparsity=0.05,0.1,0.25,0.5,0.75", "--penalty=0.1,0.05,0.025,0.01,0.005,0.001,0"], j["protocol"]
runs = j["runs"]
assert [r["method"] for r in runs] == ["random"] * 5 + ["ft-l2"] * 7, [r["method"] for r in runs]
for r in runs:
    assert r["params"]["editor.steps"] == "4" and "editor.lr" not in r["params"], r["params"]  # the explicit editor, not the paper's
    assert r["edits"] == 2 and len(r["records"]) == 2, r
    for e in r["records"]:
        assert 0 <= e["LR"] <= 1 and 0 <= e["LR_sensitive"] <= 1 and e["SR"] in (0, 1), e
assert [r["params"]["editor.c"] for r in runs[5:]] == ["0.1", "0.05", "0.025", "0.01", "0.005", "0.001", "0"]
assert [r["params"]["locator.sparsity"][:4] for r in runs[:5]] == ["0.05", "0.10", "0.25", "0.50", "0.75"], [r["params"]["locator.sparsity"] for r in runs[:5]]
assert all(r["locator"] == "all" and r["editor"] == "ft-l2" for r in runs[5:])
pairs = {(c["a"], c["b"]) for c in j["comparisons"]}
assert pairs == {("random", "ft-l2"), ("ft-l2", "random")}, pairs
for c in j["comparisons"]:
    for axis in ("LR", "LR_sensitive"):
        assert axis in c and c[axis]["replicates"] == 200, c
assert j["locality"]["typical"] >= 1000 and j["locality"]["sensitive"] == 300, j["locality"]
print("protocol applied and overridden as expected;", len(runs), "runs,", sum(len(r["records"]) for r in runs), "edits")
PY
