#!/usr/bin/env bash
# `vitedit predict --json` on a ViT built and saved by PyTorch/torchvision gives PyTorch's logits
# (max abs difference <= 1e-4) under the torchvision, Hugging Face and timm naming conventions.
# usage: predict_vs_pytorch.sh VITEDIT BACKEND SCRIPTS_DIR
set -euo pipefail
vitedit=$1 backend=$2 scripts=$3
py=/usr/bin/python3
if ! $py -c "import torch, torchvision" 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 has no torch/torchvision (apt install python3-torch python3-torchvision)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$py "$scripts/make_reference_vit.py" --out-dir "$dir" --seed 7 >/dev/null
for naming in tv hf timm; do
  args=()
  for img in "$dir"/img*.png; do args+=(--image "$img"); done
  "$vitedit" predict --model "$dir/$naming.safetensors" "${args[@]}" --backend "$backend" --json > "$dir/$naming.jsonl"
done
$py - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
expected = {os.path.basename(i["file"]): i["logits"] for i in json.load(open(os.path.join(d, "expected.json")))["images"]}
worst = 0.0
for naming in ("tv", "hf", "timm"):
    rows = [r for r in map(json.loads, open(os.path.join(d, naming + ".jsonl"))) if "logits" in r]  # not the phases
    assert len(rows) == len(expected), f"{naming}: {len(rows)} predictions for {len(expected)} images"
    for r in rows:
        want = expected[os.path.basename(r["image"])]
        diff = max(abs(a - b) for a, b in zip(r["logits"], want))
        worst = max(worst, diff)
        assert len(r["logits"]) == len(want), f"{naming}: wrong number of logits"
        assert diff <= 1e-4, f"{naming} {r['image']}: max |logit - pytorch| = {diff:.3g} > 1e-4"
print(f"3 naming conventions x {len(expected)} images: max |logit - pytorch| = {worst:.3g} (<= 1e-4)")
PY
