#!/usr/bin/env bash
# `train` and `meta-train` killed with SIGKILL (no chance to save anything) resume from their last
# periodic checkpoint and end bitwise equal to an uninterrupted run with the same seed.
# usage: resume_killed.sh VITEDIT REPO_ROOT
set -euo pipefail
V=$1 root=$2
T=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$T"' EXIT
data=$root/samples/bench/locality-sensitive   # 300 labelled 28x28 images
fail() { echo "FAIL: $*"; exit 1; }

# Same tensors (names, shapes, bytes); the metadata differs (run times).
same_tensors() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
def load(p):
    raw = open(p, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
    return h, raw[8 + n:]
a, b = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if a == b else 1)
PY
}

# run_killed LOG CKPT ARGS...: starts vitedit, SIGKILLs it once CKPT exists (a periodic checkpoint
# was written), then reruns with --resume to the end.
run_killed() {
  local log=$1 ckpt=$2; shift 2
  "$V" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 6000); do
    [ -e "$ckpt" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  kill -0 $pid 2>/dev/null || fail "$1: finished before it could be killed (make the run longer)"
  kill -9 $pid; wait $pid 2>/dev/null || true
  pid=
  echo "killed after the checkpoint $(basename "$ckpt") appeared; resuming"
  "$V" "$@" --resume >>"$log" 2>&1 || { cat "$log"; fail "resume failed"; }
  grep -q "resum" "$log" || fail "the second run did not resume"
}

# ---- train ----
common=(train --data "$data" --epochs 8 --batch 25 --dim 16 --depth 2 --heads 2 --mlp 32 --patch 7 --seed 5
        --checkpoint-every-epoch --backend onednn)
"$V" "${common[@]}" --out "$T/a.safetensors" >"$T/a.log" 2>&1 || { cat "$T/a.log"; fail "train"; }
run_killed "$T/b.log" "$T/b.ckpt.safetensors" "${common[@]}" --out "$T/b.safetensors"
same_tensors "$T/a.safetensors" "$T/b.safetensors" || fail "train: the resumed model differs from the uninterrupted one"
echo "train: killed and resumed == uninterrupted"

# ---- meta-train, on the model just trained ----
meta=(meta-train --model "$T/a.safetensors" --data "$data" --iterations 40 --batch 2 --inner-steps 1 --outer-steps 2
      --hyper-depth 1 --distill-steps 1 --cutmix-min 1 --cutmix-max 2 --checkpoint-every 5 --seed 7 --backend onednn)
"$V" "${meta[@]}" --out "$T/ha.safetensors" >"$T/ha.log" 2>&1 || { cat "$T/ha.log"; fail "meta-train"; }
run_killed "$T/hb.log" "$T/hb.ckpt.safetensors" "${meta[@]}" --out "$T/hb.safetensors"
same_tensors "$T/ha.safetensors" "$T/hb.safetensors" || fail "meta-train: the resumed hypernetwork differs"
echo "meta-train: killed and resumed == uninterrupted"
