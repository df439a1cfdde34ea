#!/usr/bin/env bash
# The bundled model's accuracy, recomputed through the engine, is what docs/bundle.md states
# (measured 0.8615 full, 0.9046 without the held-out subpopulations; the targets are 0.85 and 0.90 —
# see docs/bundle.md); and the bundled benchmark's
# invariants: every failure image misclassified, every locality image classified correctly, and the
# typical locality sets the seeded draw of correct test images outside the held-out
# subpopulations and the groups (check_locality_sets).
# usage: check_bundle.sh VITEDIT SOURCE_DIR CHECK_LOCALITY_SETS PLUGIN_DIR
set -euo pipefail
vitedit=$1 src=$2 check_sets=$3 plugin_dir=$4
model=$src/samples/models/vit-fmnist.safetensors
bench=$src/samples/bench
[ -f "$model" ] || { echo "SKIPPED: $model is not there"; exit 77; }
[ -d /usr/share/datasets/fashion-mnist ] || [ -n "${VITEDIT_FMNIST_DIR:-}" ] || { echo "SKIPPED: no Fashion-MNIST (apt install dataset-fashion-mnist)"; exit 77; }
json=$("$vitedit" eval --model "$model" --data fmnist:test --json | tail -n 1)
python3 - "$json" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
full, clean = j["accuracy"], j["accuracy_without_holdout"]
print(f"full test set: {full:.4f} (n={j['n']}), without held-out subpopulations: {clean:.4f}, held-out: {j['accuracy_holdout']:.4f}")
assert full >= 0.85, f"accuracy {full} < 0.85"
assert clean >= 0.90, f"accuracy without held-out {clean} < 0.90"
PY
if [ -d "$bench" ]; then
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  args=(); for f in "$bench"/groups/*/*.png "$bench"/locality-typical/*/*.png "$bench"/locality-sensitive/*/*.png; do args+=(--image "$f"); done
  "$vitedit" predict --model "$model" "${args[@]}" --json > "$out"
  python3 - "$out" <<'PY'
import json, os, sys
wrong = right = 0
bad = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    if "image" not in j: continue  # the closing line of phases
    folder = os.path.basename(os.path.dirname(j["image"]))
    label = int(folder.split("_")[0])
    if "/groups/" in j["image"]:
        if j["label"] == label: bad.append("failure image classified correctly: " + j["image"])
        else: wrong += 1
    else:
        if j["label"] == label: right += 1
        else: bad.append("locality image misclassified: " + j["image"])
print(f"benchmark: {wrong} failure images misclassified, {right} locality images correct, {len(bad)} violations")
for b in bad[:10]: print(b)
assert not bad
PY
fi
"$check_sets" "$plugin_dir" "$model" "$bench" "$src/samples/bench-unseen"
# An edit of a bundled benchmark failure with the default chain succeeds (exit 0, every image fixed).
if [ -d "$bench" ]; then
  shirts=("$bench"/groups/6_shirt_heldout/*.png); img=${shirts[0]}  # a glob, not ls | head (SIGPIPE under pipefail)
  patch=$(mktemp -u --suffix=.vtp)
  "$vitedit" edit --model "$model" --image "$img" --label 6 --patch "$patch" --json > "$patch.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("default-chain edit:", {k: j[k] for k in ("success","steps","SR","budget")}); assert j["success"] and j["SR"] == 1.0' "$patch.json"
  rm -f "$patch" "$patch.json"
fi
