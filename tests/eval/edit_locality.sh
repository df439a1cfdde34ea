#!/usr/bin/env bash
# `vitedit edit` proves an edit on both locality axes and reports its drawdown: LR on the typical
# set, LR_sensitive on the narrow-margin set, and test accuracy before minus after, whose "before"
# is the model's accuracy as `vitedit eval` measures it.
# usage: edit_locality.sh VITEDIT SOURCE_DIR
set -euo pipefail
vitedit=$1 src=$2
model=$src/samples/models/vit-fmnist.safetensors
bench=$src/samples/bench
[ -f "$model" ] && [ -d "$bench/locality-typical" ] || { echo "SKIPPED: no bundled model/benchmark"; exit 77; }
[ -d /usr/share/datasets/fashion-mnist ] || [ -n "${VITEDIT_FMNIST_DIR:-}" ] || { echo "SKIPPED: no Fashion-MNIST"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
imgs=("$bench"/groups/6_shirt_heldout/*.png)
"$vitedit" edit --model "$model" --image "${imgs[0]}" --label 6 --patch "$tmp/p.vtp" --backend onednn \
  --generalization "$bench/groups/6_shirt_heldout" --locality "$bench/locality-typical" \
  --locality-sensitive "$bench/locality-sensitive" --drawdown fmnist:test --json > "$tmp/edit.json"
"$vitedit" eval --model "$model" --data fmnist:test --backend onednn --json | tail -n 1 > "$tmp/eval.json"
python3 - "$tmp/edit.json" "$tmp/eval.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1])); v = json.load(open(sys.argv[2]))
d = e["drawdown"]
print({k: e[k] for k in ("success", "SR", "GR", "LR", "LR_sensitive")}, d)
assert 0 <= e["LR"] <= 1 and 0 <= e["LR_sensitive"] <= 1 and 0 <= e["GR"] <= 1
assert d["data"] == "fmnist:test"
assert abs(d["accuracy_before"] - v["accuracy"]) < 2e-4, (d["accuracy_before"], v["accuracy"])
assert abs(d["drawdown"] - (d["accuracy_before"] - d["accuracy_after"])) < 1e-12
# An edit of a held-out shirt changes some predictions: the narrow-margin set is disturbed at least as much.
assert e["LR_sensitive"] <= e["LR"], e
PY
