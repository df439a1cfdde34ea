#!/usr/bin/env bash
# The main job, on the bundled model: fix one benchmark failure with the default chain, show the
# prediction before and after and the edit's SR/GR/LR/drawdown, then a short bench with the
# recommended protocol.
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
echo "== 2. locate and edit (default chain), proving the edit on the rest of its group (GR), on 2000"
echo "      random correct test predictions (LR), on the 300 most easily disturbed ones (LR_sensitive)"
echo "      and on the whole test set (drawdown); write a patch"
$V edit --model "$M" --image "$img" --label "$label" --patch out/demo.vtp \
  --generalization "$B/groups/$group" --locality "$B/locality-typical" \
  --locality-sensitive "$B/locality-sensitive" --drawdown fmnist:test

echo
echo "== 2b. the same failure kind edited from three of its images (the loss over all three): an edit"
echo "       learns the kind better from several examples, and moves more of the model's other answers"
$V edit --model "$M" --image "${imgs[0]}" --image "${imgs[1]}" --image "${imgs[2]}" --label "$label" \
  --out out/demo-3images.safetensors --generalization "$B/groups/$group" --locality "$B/locality-typical" \
  --locality-sensitive "$B/locality-sensitive"

echo
echo "== 3. the patch applies to the bundled model only, and the patched model gets the image right"
$V apply --model "$M" --patch out/demo.vtp --out out/demo-edited.safetensors
$V predict --model out/demo-edited.safetensors --image "$img"

echo
echo "== 4. a short bench with the recommended protocol (its methods, sweeps and editor; docs/benchmark.md),"
echo "      on the three natural failure groups, one edit each: the full runs are in docs/bundle.md"
cmp=(); [ -f "${M%.safetensors}.hypernet.safetensors" ] && cmp=(--compare hypernet,saliency)
$V bench --model "$M" --bench "$B" --protocol default --max-edits-per-group 1 --bootstrap 500 \
  --group 0_t-shirt-top_heldout --group 2_pullover_heldout --group 6_shirt_heldout "${cmp[@]}"
