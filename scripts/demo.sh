#!/usr/bin/env bash
# The main job, on the bundled model: fix one benchmark failure with the default chain, show the
# prediction before and after and the edit's SR/GR/LR, then a short bench comparing locators.
# Installs and builds on first use (root or sudo on Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building (first time: several minutes)"
scripts/build.sh >/tmp/vitedit-build.log 2>&1 || { tail -30 /tmp/vitedit-build.log; exit 1; }
V=build/bin/vitedit
M=samples/models/vit-fmnist.safetensors
B=samples/bench
group=${GROUP:-6_shirt_heldout}
label=${group%%_*}
imgs=("$B/groups/$group"/*.png); img=${imgs[0]}  # a glob, not ls | head (SIGPIPE under pipefail)
mkdir -p out

echo
echo "== 1. the bundled model gets this image of the held-out shirt subpopulation wrong"
$V predict --model "$M" --image "$img"

echo
echo "== 2. locate and edit (default chain), proving the edit on the rest of its group (GR) and"
echo "      on the locality set of easily disturbed images (LR); write a patch"
$V edit --model "$M" --image "$img" --label "$label" --patch out/demo.vtp \
  --generalization "$B/groups/$group" --locality "$B/locality"

echo
echo "== 3. the patch applies to the bundled model only, and the patched model gets the image right"
$V apply --model "$M" --patch out/demo.vtp --out out/demo-edited.safetensors
$V predict --model out/demo-edited.safetensors --image "$img"

echo
echo "== 4. a short bench: the locators side by side on every group (1 edit per group, rmsprop stopping at the first correct prediction: docs/bundle.md has the full sweep)"
locators=(--locator all --locator random:sparsity=0.1 --locator saliency:sparsity=0.1)
[ -f "${M%.safetensors}.hypernet.safetensors" ] && locators+=(--locator hypernet:sparsity=0.1)
$V bench --model "$M" --bench "$B" --max-edits-per-group 1 "${locators[@]}" --editor rmsprop:lr=3e-4,steps=200,stop_loss=10
