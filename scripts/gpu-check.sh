#!/usr/bin/env bash
# scripts/gpu-check.sh OUTDIR — the CUDA backend's check on a machine with an NVIDIA GPU.
#
#   1. configures and builds vitedit with the CUDA backend (Release, into ${BUILD_DIR:-build-gpu});
#   2. runs the backend conformance suite and the engine test for cuda (ctest, against LibTorch),
#      then the cases of the optional ops the cuda backend implements (gather_units/scatter_units,
#      ABI 1.2; linear_fwd, ABI 1.3) on their own, so the report names them;
#   3. runs `vitedit predict` and `vitedit edit --json` on a small reference ViT (made by
#      scripts/make_reference_vit.py) with --backend cuda and --backend onednn and compares them
#      (logits and edit results within 1e-4, relative for values above 1);
#   4. runs `vitedit bench --max-edits-per-group 1` on the bundled model and benchmark with both
#      backends and compares the numbers (when samples/models/vit-fmnist.safetensors and
#      samples/bench exist);
#   5. times an edit step on a ViT-B/16-shaped model (random weights, 224x224, 12 blocks, width
#      768, 12 heads, MLP 3072, 1000 classes; one image, default sites and locator, rmsprop with a
#      fixed number of steps) on cuda, and a few steps on onednn for comparison; the edit takes the
#      engine's masked fast path (the masked MLP units alone, through gather_units/scatter_units and
#      linear_fwd), which `vitedit perf --profile` on cuda confirms from the ops an edit step calls;
#   6. writes OUTDIR/report.txt and OUTDIR/report.json (plus every log it made).
#
# Debian 12 packages are assumed installed (scripts/install-deps.sh) and the CUDA toolkit at
# /usr/local/cuda (or nvcc on PATH). Each step is bounded so the whole run stays within about
# 8 minutes (GPU_CHECK_BUDGET_S, default 470 s); steps that no longer fit are reported as
# skipped. Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [ $# -ne 1 ]; then
  echo "usage: scripts/gpu-check.sh OUTDIR" >&2
  exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
BUILD=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
START=$(date +%s)
DEADLINE=$((START + ${GPU_CHECK_BUDGET_S:-470}))
: >"$OUT/checks.tsv"
: >"$OUT/metrics.tsv"

say() { echo "[gpu-check +$(($(date +%s) - START))s] $*"; }
# check NAME pass|fail|skip DETAIL
check() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT/checks.tsv"
  say "$1: $(echo "$2" | tr a-z A-Z) ${3}"
}
metric() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/metrics.tsv"; }
# Seconds a step may take: at most $1, and never past the deadline (20 s kept for the report).
budget() {
  local left=$((DEADLINE - $(date +%s) - 20))
  local want=$1
  [ "$left" -lt "$want" ] && want=$left
  echo "$want"
}
# run LIMIT LOG CMD... : runs CMD with a time limit, output to LOG; returns its status
# (124 when it ran out of time).
run() {
  local limit=$1 logf=$2
  shift 2
  if [ "$limit" -lt 5 ]; then
    echo "not run: out of time" >"$logf"
    return 124
  fi
  timeout --kill-after=5 "$limit" "$@" >"$logf" 2>&1
}

# ---- 0. the machine ---------------------------------------------------------------------------
say "machine: $(uname -srm), $(nproc) CPUs"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader >"$OUT/gpu.txt" 2>&1
  say "GPU: $(head -1 "$OUT/gpu.txt")"
  metric gpu "$(head -1 "$OUT/gpu.txt")"
else
  echo "nvidia-smi not found" >"$OUT/gpu.txt"
  say "nvidia-smi not found: the cuda checks below will report why cuda cannot run"
  metric gpu "none (nvidia-smi not found)"
fi
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[ -x "$NVCC" ] && metric nvcc "$("$NVCC" --version | tail -2 | head -1)"

# ---- 1. configure and build --------------------------------------------------------------------
say "configuring into $BUILD (Release, CUDA on)"
t0=$(date +%s)
if run "$(budget 120)" "$OUT/configure.log" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVITEDIT_WITH_CUDA=ON; then
  if grep -q "cuda backend: nvcc" "$OUT/configure.log"; then
    check configure pass "$(grep "cuda backend: nvcc" "$OUT/configure.log" | sed 's/^-- //')"
  else
    check configure fail "the cuda backend was not configured: $(grep -i cuda "$OUT/configure.log" | tail -1)"
  fi
else
  check configure fail "cmake failed (see configure.log): $(tail -3 "$OUT/configure.log" | tr '\n' ' ')"
fi
# What to build: the program, every backend/locator/editor plugin, and the two GPU test programs.
targets="vitedit vitedit_conformance vitedit_engine_test"
if [ -f "$BUILD/build.ninja" ]; then
  targets="$targets $(ninja -C "$BUILD" -t targets all 2>/dev/null |
    sed -n 's/^\(vitedit-\(backend\|locator\|editor\)-[A-Za-z0-9_-]*\): phony$/\1/p' | sort -u | tr '\n' ' ')"
fi
say "building with $JOBS jobs: $targets"
t0=$(date +%s)
limit=$(budget 330)
if [ "$limit" -ge 5 ] && timeout --kill-after=5 "$limit" cmake --build "$BUILD" -j "$JOBS" --target $targets 2>&1 |
  tee "$OUT/build.log" | awk '/^\[[0-9]+\/[0-9]+\]/ { n++; if (n % 10 == 1) { print "  " substr($0, 1, 110); fflush() } next } { print "  " $0; fflush() }'; then
  check build pass "$(($(date +%s) - t0)) s"
else
  check build fail "see build.log: $(grep -m1 -E 'error|FAILED' "$OUT/build.log" | cut -c1-200)"
fi
metric build_s $(($(date +%s) - t0))
V="$ROOT/$BUILD/bin/vitedit"

cuda_line="no vitedit program was built"
cuda_ok=false
if [ -x "$V" ]; then
  "$V" plugins >"$OUT/plugins.txt" 2>&1
  cuda_line=$(grep -E '^ +cuda +' "$OUT/plugins.txt" | head -1 | sed 's/^ *//; s/  */ /g')
  [ -n "$cuda_line" ] || cuda_line="vitedit plugins does not list a cuda backend"
  case "$cuda_line" in "cuda ok"*) cuda_ok=true ;; esac
  say "vitedit plugins: $cuda_line"
fi
metric plugins_cuda "$cuda_line"
if $cuda_ok; then
  check probe pass "$cuda_line"
else
  check probe fail "$cuda_line"
fi

# ---- 2. conformance + engine on cuda -------------------------------------------------------------
say "ctest -R 'conformance.cuda|engine.cuda'"
t0=$(date +%s)
(cd "$BUILD" && run "$(budget 240)" "$OUT/ctest.log" ctest -R 'conformance.cuda|engine.cuda' --output-on-failure -j 2)
rc=$?
metric ctest_s $(($(date +%s) - t0))
for t in conformance.cuda engine.cuda; do
  line=$(grep -E "Test +#[0-9]+: $t " "$OUT/ctest.log" | tail -1)
  if echo "$line" | grep -q "Passed"; then
    check "$t" pass "$(echo "$line" | grep -oE '[0-9.]+ sec')"
  elif echo "$line" | grep -q "Skipped"; then
    check "$t" fail "skipped (the backend cannot run here: $cuda_line)"
  elif [ -z "$line" ]; then
    check "$t" fail "did not run (rc $rc; see ctest.log)"
  else
    check "$t" fail "$(echo "$line" | sed 's/  */ /g'); see ctest.log"
  fi
done
grep -E "test cases|assertions" "$OUT/ctest.log" | head -4 | sed 's/^/  /'
# The optional ops, each group's conformance cases alone (conformance.cuda above ran them too, but
# its line would not say so, nor that the backend has them: a backend without them passes those
# cases with a warning, "does not implement" / "has no fused linear_fwd").
CONF="$ROOT/$BUILD/bin/vitedit_conformance"
for group in "unit_ops [units] gather_units/scatter_units (rows and columns; odd, unsorted, permuted and empty index lists; ViT-B/16 and thin sizes; offset views; refusals by status)" \
             "linear_fwd [linear] linear_fwd (with and without bias, NONE and GELU, strided x, column-major and padded w, K=1 and ViT-B/16 shapes; refusals by status)"; do
  read -r gname gtag gwhat <<<"$group"
  logf="$OUT/conformance-cuda-$gname.log"
  if [ ! -x "$CONF" ]; then
    check "cuda.$gname" fail "no vitedit_conformance was built"
    continue
  fi
  run "$(budget 90)" "$logf" "$CONF" --backend cuda "$gtag"
  rc=$?
  summary=$(grep -E "All tests passed|test cases" "$logf" | tail -1 | sed 's/^ *//; s/  */ /g')
  if [ $rc -eq 77 ]; then
    check "cuda.$gname" fail "skipped (the backend cannot run here: $cuda_line)"
  elif [ $rc -eq 0 ] && grep -qE "does not implement|has no fused linear_fwd" "$logf"; then
    check "cuda.$gname" fail "the cuda backend does not report the op (has_unit_ops/has_fused_linear false): $(grep -m1 -E "does not implement|has no fused" "$logf" | sed 's/^ *//')"
  elif [ $rc -eq 0 ]; then
    check "cuda.$gname" pass "$gwhat: $summary"
  else
    check "cuda.$gname" fail "rc $rc: $summary; see $(basename "$logf")"
  fi
done

# ---- comparison helpers (python) ---------------------------------------------------------------
# compare_json A B [ignored keys...]: every number in A and B within 1e-4 (relative above 1),
# every other value equal. Prints a one-line summary; exit 0 when equal within tolerance.
compare_json() {
  "$PY" - "$@" <<'EOF'
import json, math, sys
a_path, b_path, ignored = sys.argv[1], sys.argv[2], set(sys.argv[3:])
def load(p):
    with open(p) as f:
        text = f.read().strip()
    try:
        return json.loads(text)
    except ValueError:  # JSON lines
        return [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]
a, b = load(a_path), load(b_path)
worst = [0.0, ""]
diffs = []
def walk(x, y, path):
    if isinstance(x, bool) or isinstance(y, bool) or not (isinstance(x, (int, float)) and isinstance(y, (int, float))):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if k in ignored: continue
                if k not in x or k not in y: diffs.append("%s/%s missing on one side" % (path, k)); continue
                walk(x[k], y[k], path + "/" + k)
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y): diffs.append("%s: lengths %d vs %d" % (path, len(x), len(y))); return
            for i, (u, v) in enumerate(zip(x, y)): walk(u, v, "%s[%d]" % (path, i))
        elif x != y:
            diffs.append("%s: %r vs %r" % (path, x, y))
        return
    d = abs(float(x) - float(y))
    tol = 1e-4 * max(1.0, abs(float(y)))
    if d > worst[0]: worst[:] = [d, path]
    if not (d <= tol) and not (math.isnan(x) and math.isnan(y)):
        diffs.append("%s: %.7g vs %.7g (diff %.3g > %.3g)" % (path, x, y, d, tol))
walk(a, b, "")
print("max |diff| %.3g at %s; %d mismatch(es)%s" % (worst[0], worst[1] or "-", len(diffs), (": " + "; ".join(diffs[:3])) if diffs else ""))
sys.exit(1 if diffs else 0)
EOF
}
json_field() { "$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(d.get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null; }

have_vitedit() { [ -x "$V" ] && [ -f "$ROOT/$BUILD/bin/plugins/vitedit-backend-cuda.so" ]; }
# The first error line of a log (or its last line).
errline() { { grep -m1 -iE 'error|fail|timed out|not run' "$1" || tail -1 "$1"; } 2>/dev/null | cut -c1-300; }

# ---- 3. predict and edit on a small reference ViT: cuda vs onednn ----------------------------------
REF="$OUT/ref-vit"
if ! $cuda_ok; then
  check predict skip "cuda cannot run here"
  check edit skip "cuda cannot run here"
elif have_vitedit && run "$(budget 60)" "$OUT/make-ref.log" "$PY" scripts/make_reference_vit.py --out-dir "$REF" --seed 1; then
  imgs=()
  for f in "$REF"/img*.png; do imgs+=(--image "$f"); done
  for be in cuda onednn; do
    run "$(budget 60)" "$OUT/predict-$be.log" "$V" predict --model "$REF/timm.safetensors" "${imgs[@]}" --json --backend "$be"
    grep '^{.*"logits"' "$OUT/predict-$be.log" >"$OUT/predict-$be.jsonl"  # the images, not the phases line
  done
  if [ -s "$OUT/predict-cuda.jsonl" ] && [ -s "$OUT/predict-onednn.jsonl" ]; then
    if s=$(compare_json "$OUT/predict-cuda.jsonl" "$OUT/predict-onednn.jsonl" prob); then
      check predict pass "cuda vs onednn logits: $s"
    else
      check predict fail "cuda vs onednn logits: $s"
    fi
    # and against PyTorch's own logits
    s=$("$PY" - "$OUT/predict-cuda.jsonl" "$REF/expected.json" <<'EOF' 2>&1
import json, sys
import os
got = {os.path.basename(d["image"]): d["logits"] for d in map(json.loads, filter(str.strip, open(sys.argv[1])))}
exp = {e["file"]: e["logits"] for e in json.load(open(sys.argv[2]))["images"]}
d = max(abs(a - b) for name in got for a, b in zip(got[name], exp[name]))
print("max |cuda - PyTorch| = %.3g over %d images" % (d, len(got)))
EOF
)
    metric predict_vs_pytorch "$s"
    say "predict: $s"
  else
    check predict fail "no output: cuda: $(errline "$OUT/predict-cuda.log"); onednn: $(errline "$OUT/predict-onednn.log")"
  fi
  # An edit towards a label the model does not predict.
  label=$(json_field "$OUT/predict-onednn.jsonl" label)
  label=$(((${label:-0} + 1) % 10))
  for be in cuda onednn; do
    run "$(budget 90)" "$OUT/edit-$be.log" "$V" edit --model "$REF/timm.safetensors" --image "$REF/img0.png" \
      --label "$label" --patch "$OUT/edit-$be.vtp" --force --json --backend "$be"
    grep '^{' "$OUT/edit-$be.log" | tail -1 >"$OUT/edit-$be.json"
  done
  if [ -s "$OUT/edit-cuda.json" ] && [ -s "$OUT/edit-onednn.json" ]; then
    if s=$(compare_json "$OUT/edit-cuda.json" "$OUT/edit-onednn.json" time_s step_s locate_s); then
      check edit pass "cuda vs onednn (success, steps, loss, mask, SR): $s"
    else
      check edit fail "cuda vs onednn: $s"
    fi
  else
    check edit fail "no JSON: cuda: $(errline "$OUT/edit-cuda.log"); onednn: $(errline "$OUT/edit-onednn.log")"
  fi
else
  check predict skip "no vitedit build or reference model (see make-ref.log)"
  check edit skip "no vitedit build or reference model"
fi

# ---- 4. bench on the bundled model ---------------------------------------------------------------
M=samples/models/vit-fmnist.safetensors
if ! $cuda_ok; then
  check bench skip "cuda cannot run here"
elif have_vitedit && [ -f "$M" ] && [ -d samples/bench ]; then
  for be in cuda onednn; do
    t0=$(date +%s)
    run "$(budget 120)" "$OUT/bench-$be.log" "$V" bench --model "$M" --bench samples/bench --max-edits-per-group 1 \
      --json "$OUT/bench-$be.json" --backend "$be"
    metric "bench_${be}_s" $(($(date +%s) - t0))
  done
  if [ -s "$OUT/bench-cuda.json" ] && [ -s "$OUT/bench-onednn.json" ]; then
    if s=$(compare_json "$OUT/bench-cuda.json" "$OUT/bench-onednn.json" time_s); then
      check bench pass "cuda vs onednn (SR/GR/LR/steps per group): $s"
    else
      check bench fail "cuda vs onednn: $s"
    fi
    grep -A3 -E "^locator" "$OUT/bench-cuda.log" | sed 's/^/  cuda:   /'
    grep -A3 -E "^locator" "$OUT/bench-onednn.log" | sed 's/^/  onednn: /'
  else
    check bench fail "no bench JSON: cuda: $(errline "$OUT/bench-cuda.log"); onednn: $(errline "$OUT/bench-onednn.log")"
  fi
else
  check bench skip "needs $M and samples/bench (and a build)"
fi

# ---- 5. ViT-B/16 edit step -------------------------------------------------------------------------
# The model (about 1 GB in three naming schemes) goes to a temporary folder, removed at exit.
VB=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-vitb.XXXXXX")
trap 'rm -rf "$VB"' EXIT
if ! $cuda_ok; then
  check vitb16_edit_step skip "cuda cannot run here"
  check masked_fast_path skip "cuda cannot run here"
elif have_vitedit && run "$(budget 120)" "$OUT/make-vitb.log" "$PY" scripts/make_reference_vit.py --out-dir "$VB" --seed 2 \
  --image-size 224 --patch-size 16 --num-layers 12 --num-heads 12 --hidden-dim 768 --mlp-dim 3072 \
  --num-classes 1000 --num-images 1; then
  steps_cuda=${VITB_STEPS:-20}
  steps_onednn=${VITB_ONEDNN_STEPS:-3}
  for be in cuda onednn; do
    steps=$steps_cuda
    [ "$be" = onednn ] && steps=$steps_onednn
    t0=$(date +%s)
    run "$(budget 120)" "$OUT/vitb-edit-$be.log" "$V" edit --model "$VB/timm.safetensors" --image "$VB/img0.png" \
      --label 7 --patch "$OUT/vitb-$be.vtp" --force --json --backend "$be" --editor "rmsprop:steps=$steps,stop_loss=0"
    grep '^{' "$OUT/vitb-edit-$be.log" | tail -1 >"$OUT/vitb-edit-$be.json"
    metric "vitb_${be}_wall_s" $(($(date +%s) - t0))
    step=$(json_field "$OUT/vitb-edit-$be.json" step_s)
    if [ -n "$step" ]; then
      ms=$("$PY" -c "print('%.2f' % (1e3 * float('$step')))")
      metric "vitb_${be}_step_ms" "$ms"
      metric "vitb_${be}_steps" "$(json_field "$OUT/vitb-edit-$be.json" steps)"
      metric "vitb_${be}_locate_s" "$(json_field "$OUT/vitb-edit-$be.json" locate_s)"
      say "ViT-B/16 edit on $be: $ms ms/step ($(json_field "$OUT/vitb-edit-$be.json" steps) steps)"
    fi
  done
  if [ -s "$OUT/vitb-edit-cuda.json" ] && [ -n "$(json_field "$OUT/vitb-edit-cuda.json" step_s)" ]; then
    check vitb16_edit_step pass "cuda $(grep vitb_cuda_step_ms "$OUT/metrics.tsv" | cut -f2) ms/step; onednn $(grep vitb_onednn_step_ms "$OUT/metrics.tsv" | cut -f2) ms/step"
  else
    check vitb16_edit_step fail "no result: $(errline "$OUT/vitb-edit-cuda.log")"
  fi
  # The edit above runs the masked fast path where the backend has the unit ops (its FFN sites at
  # the default blocks, the frozen prefix cached: the MLP's masked units alone). Its JSON does not
  # say which path ran, so the same kind of edit (perf's: the default sites, a random 10 % mask)
  # runs again on cuda with every op timed, and the ops an edit step called tell: gather_units and
  # scatter_units, and linear_fwd's products over the masked units only (N below the MLP's 3072).
  run "$(budget 120)" "$OUT/vitb-perf-cuda.log" "$V" perf --model vit-b16 --backend cuda --no-reference --command-runs 0 \
    --steps 3 --warmup 1 --rounds 1 --eval-images 2 --profile --json
  grep '^{' "$OUT/vitb-perf-cuda.log" | tail -1 >"$OUT/vitb-perf-cuda.json"
  if [ ! -s "$OUT/vitb-perf-cuda.json" ]; then
    check masked_fast_path fail "no perf result: $(errline "$OUT/vitb-perf-cuda.log")"
  elif s=$("$PY" - "$OUT/vitb-perf-cuda.json" <<'EOF' 2>&1
import json, re, sys
case = json.loads(open(sys.argv[1]).read())["cases"][0]
prof = {p["op"]: p["calls"] for p in case["vitedit"]["step_profile"]}
units = {op: prof.get(op, 0) for op in ("gather_units", "scatter_units")}
# compact fc1 products: x [R, 768] -> [R, k], k masked units (not qkv 2304, proj 768, fc1 3072, head 1000)
compact = sorted(op for op in prof if re.match(r"linear(\+gelu)? \d+x768x(\d+)$", op)
                 and int(op.rsplit("x", 1)[1]) not in (768, 1000, 2304, 3072))
ok = all(units.values()) and bool(compact)
print("%s: gather_units %g, scatter_units %g calls per step; fused products over the masked units: %s; %.2f ms/step (perf, %d steps)"
      % ("masked fast path" if ok else "NOT the masked fast path", units["gather_units"], units["scatter_units"],
         ", ".join(compact) or "none", 1e3 * case["vitedit"]["step_s"], case["steps"]))
sys.exit(0 if ok else 1)
EOF
  ); then
    check masked_fast_path pass "$s"
  else
    check masked_fast_path fail "$(echo "$s" | tail -1); see vitb-perf-cuda.json"
  fi
else
  check vitb16_edit_step skip "no build or the ViT-B/16 model could not be made (see make-vitb.log)"
  check masked_fast_path skip "no build or the ViT-B/16 model could not be made"
fi

# ---- 6. report -------------------------------------------------------------------------------------
metric total_s $(($(date +%s) - START))
"$PY" - "$OUT" "$ROOT" <<'EOF'
import json, os, subprocess, sys, time
out, root = sys.argv[1], sys.argv[2]
checks = [dict(zip(("name", "status", "detail"), l.rstrip("\n").split("\t", 2))) for l in open(os.path.join(out, "checks.tsv")) if l.strip()]
metrics = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "metrics.tsv")) if "\t" in l)
try:
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"], capture_output=True, text=True).stdout.strip() != ""
except OSError:
    commit, dirty = "", False
failed = [c for c in checks if c["status"] == "fail"]
overall = "PASS" if not failed else "FAIL"
doc = {"overall": overall, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "commit": commit + ("+dirty" if dirty else ""),
       "checks": checks, "metrics": metrics}
with open(os.path.join(out, "report.json"), "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
lines = ["vitedit CUDA backend check: %s" % overall,
         "date %s, commit %s" % (doc["date"], doc["commit"]),
         "GPU: %s" % metrics.get("gpu", "?"), ""]
for c in checks:
    lines.append("%-18s %-5s %s" % (c["name"], c["status"].upper(), c["detail"]))
lines.append("")
for k in sorted(metrics):
    lines.append("%-22s %s" % (k, metrics[k]))
with open(os.path.join(out, "report.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if overall == "PASS" else 1)
EOF
status=$?
say "report: $OUT/report.txt, $OUT/report.json"
exit $status
