#!/bin/bash
# The whole-command race of `vitedit perf` compares like with like: the Python PyTorch eager script
# (vitedit-torch-eager-reference --edit-command) makes the edit `vitedit edit --patch` makes —
# the same saliency neurons, the same RMSprop steps, the same new values — and perf reports both
# sides' wall time, phases and ratio. Timing is reported, never asserted.
# Usage: edit_command.sh VITEDIT PYTHON_SCRIPT MODEL
set -euo pipefail
vitedit=$1 script=$2 model=$3
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "SKIPPED: /usr/bin/python3 has no torch"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp/x.pgm" <<'PY'
import sys, numpy as np
with open(sys.argv[1], "wb") as f:
    f.write(b"P5 28 28 255\n" + np.random.default_rng(5).integers(0, 256, (28, 28), dtype=np.uint8).tobytes())
PY
export OMP_NUM_THREADS=1
"$vitedit" edit --model "$model" --image "$tmp/x.pgm" --label 3 --patch "$tmp/v.vtp" --force --json \
  --locator saliency --sparsity 0.1 --editor rmsprop:lr=2e-5,steps=4,stop_loss=0 > "$tmp/v.json" || [ $? -eq 3 ]
/usr/bin/python3 "$script" --edit-command --model "$model" --image "$tmp/x.pgm" --label 3 --sparsity 0.1 \
  --steps 4 --lr 2e-5 --threads 1 --out "$tmp/p.safetensors" > "$tmp/p.json"
/usr/bin/python3 - "$tmp" "$script" <<'PY'
import importlib.machinery, json, sys
import numpy as np
d = sys.argv[1]
# The peer script's own safetensors reader (the script has no .py suffix; importing it runs nothing).
peer = importlib.machinery.SourceFileLoader("peer", sys.argv[2]).load_module()
def read(path):
    tensors, meta = peer.read_safetensors(path)
    return {k: v.numpy() for k, v in tensors.items()}, meta
mine = json.load(open(f"{d}/v.json"))
theirs = json.load(open(f"{d}/p.json"))
for k in ("load", "locate", "edit", "write"):
    assert k in theirs["phases"], f"the script reports no {k} phase: {theirs}"
for k in ("load", "hash", "prefix", "locate", "edit", "check", "write", "total"):
    assert k in mine["phases"], f"vitedit edit --json reports no {k} phase: {mine['phases']}"
patch, meta = read(f"{d}/v.vtp")
sites = json.loads(meta["vitedit.patch.sites"])
py, _ = read(f"{d}/p.safetensors")
same = total = 0
worst = 0.0
for site, s in sites.items():
    cols = s["unit"] == "col"
    units = mine["mask"][site[: -len(".weight")]]
    new = py[site + ".new"]
    n_py = new.shape[1] if cols else new.shape[0]
    assert n_py == len(units), f"{site}: the script kept {n_py} neurons, vitedit {len(units)}"
    # The script saves its neurons in ascending order, as vitedit's mask lists them: read as
    # vitedit's, their new values match only if both located the same neurons (a wrong neuron
    # differs by its whole weight, not by rounding) and took the same steps.
    py_units = {u: j for j, u in enumerate(units)}
    for j, u in enumerate(s["indices"]):
        assert u in py_units, f"{site}: vitedit changed neuron {u} outside its mask"
        a = patch[site + ".new"][:, j] if cols else patch[site + ".new"][j]
        b = new[:, py_units[u]] if cols else new[py_units[u]]
        worst = max(worst, float(np.abs(a - b).max()))
    same += len(s["indices"])
    total += len(units)
print(f"{total} neurons located on both sides, {same} changed by vitedit; max |vitedit - PyTorch| of their new values {worst:.2e}")
assert same > 0.9 * total, "vitedit's patch changed too few of its neurons"
assert worst <= 1e-4, f"the script's edit differs from vitedit's by {worst}"
PY
# perf's race: both sides timed from cold processes, their ratio reported.
"$vitedit" perf --model "$model" --steps 2 --warmup 0 --eval-images 8 --rounds 1 --command-runs 1 --tolerance 1 --json \
  > "$tmp/perf.json"
/usr/bin/python3 - "$tmp/perf.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cases"][0]["command"]
assert c["vitedit"]["wall_s"] > 0 and c["python"]["wall_s"] > 0, c
assert abs(c["speedup"] - c["python"]["wall_s"] / c["vitedit"]["wall_s"]) < 1e-9, c
assert "phases" in c["vitedit"] and "phases" in c["python"], c
print(f"whole command: vitedit {c['vitedit']['wall_s']:.2f} s, PyTorch {c['python']['wall_s']:.2f} s ({c['speedup']:.1f}x)")
PY
