#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, dir ${FUZZ_BUILD_DIR:-build-fuzz}) and runs
# each for SECONDS (default 60), one after the other, on one core.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: safetensors idx image patch chain (default all)
# Each target starts from its seed corpus fuzz/corpus/<target>/ plus what earlier runs found
# (build-fuzz/corpus/<target>/); crashes, leaks, timeouts and out-of-memory inputs are saved under
# build-fuzz/findings/<target>/. Prints one line per target (execs, execs/s, coverage, findings)
# and exits 1 when any target has a finding. Reproduce one: build-fuzz/fuzz/fuzz_<target> FILE.
# FUZZ_PARALLEL=1 runs the targets at the same time (each on one core, at nice 10).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors idx image patch chain)
build=${FUZZ_BUILD_DIR:-build-fuzz}

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITEDIT_FUZZ=ON \
  -DVITEDIT_BUILD_TESTS=OFF -DVITEDIT_WITH_TORCH=OFF -DVITEDIT_WITH_ONEDNN=OFF -DVITEDIT_WITH_CUDA=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")

# run TARGET: one fuzzing session, its log in build-fuzz/findings/TARGET.log.
run() {
  local t=$1 bin="$build/fuzz/fuzz_$1"
  mkdir -p "$build/corpus/$t" "$build/findings/$t"
  local start=$SECONDS
  # -timeout: an input taking > 60 s is a finding (a hang; generous: the machine may be busy), and
  # only such units count as slow; -rss_limit_mb: an input needing > 2 GiB is a finding too.
  nice -n 10 "$bin" -max_total_time="$seconds" -timeout=60 -report_slow_units=60 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t/" "$build/corpus/$t" "fuzz/corpus/$t" >"$build/findings/$t.log" 2>&1 || true
  echo $((SECONDS - start)) >"$build/findings/$t.seconds"
}

for t in "${targets[@]}"; do
  [ -x "$build/fuzz/fuzz_$t" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
done
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
  for t in "${targets[@]}"; do run "$t" & done
  wait
else
  for t in "${targets[@]}"; do run "$t"; done
fi

status=0
for t in "${targets[@]}"; do
  log="$build/findings/$t.log"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  secs=$(cat "$build/findings/$t.seconds")
  findings=$(find "$build/findings/$t" -type f | wc -l)
  echo "fuzz_$t: ${execs} execs in ${secs} s (${rate}/s), ${cov:-cov ?}, corpus $(ls "$build/corpus/$t" | wc -l) files, findings: $findings (log $log)"
  if [ "$findings" -gt 0 ] || grep -q 'ERROR: libFuzzer\|SUMMARY: .*Sanitizer' "$log"; then
    status=1
    find "$build/findings/$t" -type f | sed 's/^/  finding: /'
    grep -m3 'ERROR\|SUMMARY\|runtime error' "$log" | sed 's/^/  /'
  fi
done
exit $status
