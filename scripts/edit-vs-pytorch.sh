#!/bin/bash
# The issue's end-to-end speed check: `vitedit edit --json` on ViT-B/16-shaped weights (random,
# 224x224, 1000 classes; blocks 7-9, 10 % of their neurons, RMSprop lr 2e-5, 8 steps, no early
# stop) against the reference approach in Python PyTorch eager (Debian's python3-torch: a full
# forward + autograd backward + masked gradients + torch.optim.RMSprop per step), on this machine.
# Both sides get 2 threads. Prints both step times and the ratio; exits 1 when python3-torch is
# missing. Usage: scripts/edit-vs-pytorch.sh [BUILD_DIR]   (about 2 minutes)
set -euo pipefail
B=${1:-build}
V=$B/bin/vitedit
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "edit-vs-pytorch: needs /usr/bin/python3 with python3-torch" >&2; exit 1; }
$V perf --write-model "$W/vit-b16.safetensors" --seed 7
# A 224x224 RGB image (binary PPM) of seeded noise.
/usr/bin/python3 - "$W/image.ppm" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(11)
with open(sys.argv[1], "wb") as f:
    f.write(b"P6 224 224 255\n" + rng.integers(0, 256, (224, 224, 3), dtype=np.uint8).tobytes())
PY
$V edit --model "$W/vit-b16.safetensors" --image "$W/image.ppm" --label 1 --out "$W/edited.safetensors" --force \
  --locator random:seed=1 --sparsity 0.1 --editor rmsprop:lr=2e-5,steps=8,stop_loss=0 --json > "$W/edit.json"
# PyTorch eager's step on the same weights (perf's Python peer; its own image and mask).
$V perf --model vit-b16 --seed 7 --steps 8 --warmup 2 --eval-images 1 --json --tolerance 1 > "$W/perf.json"
/usr/bin/python3 - "$W/edit.json" "$W/perf.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))["cases"][0]
v, py = e["step_s"], p["python"]["step_s"]
print(f"vitedit edit --json: step_s {v*1e3:.0f} ms ({e.get('steps')} steps)")
print(f"Python PyTorch eager: step_s {py*1e3:.0f} ms   (LibTorch C++: {p['reference']['step_s']*1e3:.0f} ms)")
print(f"vitedit is {py/v:.1f}x faster per step than PyTorch eager")
PY
