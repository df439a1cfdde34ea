#!/usr/bin/env bash
# Edit safety through the real `vitedit edit` path, on the bundled model:
#  1. a model with a NaN weight: the edit aborts at its first non-finite loss, says the model was
#     restored, exits 1 and writes nothing;
#  2. the locality guard refuses an edit whose LR on the guard set is below --min-lr (exit 4, the
#     miss printed, nothing written, --force does not override it) ...
#  3. ... and writes it when LR clears --min-lr, reporting the guard in --json.
# usage: edit_safety.sh VITEDIT REPO_ROOT
set -euo pipefail
V=$1 root=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M=$root/samples/models/vit-fmnist.safetensors
B=$root/samples/bench
tees=("$B"/groups/0_t-shirt-top_heldout/*.png); img=${tees[0]}  # a glob, not ls | head (SIGPIPE under pipefail)
chain=(--locator saliency:sparsity=0.1 --editor rmsprop:lr=1e-3,steps=20)
fail() { echo "FAIL: $*"; exit 1; }

# 1. A NaN in head.bias: the loss is non-finite from the first step.
python3 - "$M" "$T/nan.safetensors" <<'PY'
import json, struct, sys
raw = bytearray(open(sys.argv[1], "rb").read())
(hlen,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + hlen])
assert h["head.bias"]["dtype"] == "F32"
off = 8 + hlen + h["head.bias"]["data_offsets"][0]
raw[off:off + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(raw)
PY
set +e
# (the random locator: a gradient-based one already refuses the NaN scores)
"$V" edit --model "$T/nan.safetensors" --image "$img" --label 0 --locator random:sparsity=0.1 --editor rmsprop:steps=20 --out "$T/nan-out.safetensors" --force \
  >"$T/1.out" 2>"$T/1.err"; rc=$?
set -e
cat "$T/1.err"
[ $rc -eq 1 ] || fail "non-finite edit: exit status $rc, expected 1"
grep -q "non-finite" "$T/1.err" && grep -q "restored" "$T/1.err" || fail "non-finite edit: no clear message"
[ ! -e "$T/nan-out.safetensors" ] || fail "non-finite edit: wrote an output"
[ -z "$(ls -A "$T" | grep -v '^nan.safetensors$\|^1\.')" ] || fail "non-finite edit: left files: $(ls -A "$T")"

# 2. Guard: LR on the locality set must reach 0.9999 (this edit changes some predictions).
for force in "" --force; do
  set +e
  "$V" edit --model "$M" --image "$img" --label 0 "${chain[@]}" --guard-locality "$B/locality-sensitive" --min-lr 0.9999 $force \
    --out "$T/g.safetensors" --patch "$T/g.vtp" >"$T/2.out" 2>"$T/2.err"; rc=$?
  set -e
  cat "$T/2.out" "$T/2.err"
  [ $rc -eq 4 ] || fail "guard ($force): exit status $rc, expected 4"
  grep -q "locality guard: LR .* is below --min-lr 0.9999 (missed by " "$T/2.err" || fail "guard: no message with the miss"
  [ ! -e "$T/g.safetensors" ] && [ ! -e "$T/g.vtp" ] || fail "guard ($force): wrote an output"
done

# 3. The same edit passes a guard it clears; the JSON report carries the guard's LR.
"$V" edit --model "$M" --image "$img" --label 0 "${chain[@]}" --guard-locality "$B/locality-sensitive" --min-lr 0.5 \
  --locality "$B/locality-sensitive" --patch "$T/ok.vtp" --json >"$T/3.json" 2>"$T/3.err" || fail "guard pass: exit status $?"
cat "$T/3.json"
python3 - "$T/3.json" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read())
g = j["guard"]
assert g["passed"] and g["min_lr"] == 0.5 and 0.5 <= g["LR"] < 0.9999, g
assert abs(g["LR"] - j["LR"]) < 1e-12, (g, j["LR"])  # the same set measured once
assert j["written"], j
PY
[ -s "$T/ok.vtp" ] || fail "guard pass: no patch written"
echo "edit safety: ok"
