#!/usr/bin/env bash
# mpirun -np 2 vitedit bench == vitedit bench: every number of the JSON but the timings, the
# table's scores and the plot, for two locators x two sweep points x three groups.
# usage: mpi_bench.sh VITEDIT MPIEXEC SOURCE_DIR
. "$(dirname "$0")/mpi_common.sh"
args=(bench --model "$model" --bench "$src/samples/bench" --backend onednn
      --locator random --locator saliency --editor rmsprop:steps=20 --sweep sparsity=0.05,0.1
      --group 0_t-shirt-top_heldout --group 3_dress_sketch --group 6_shirt_heldout --max-edits-per-group 1 --seed 7)
"$vitedit" "${args[@]}" --json "$tmp/one.json" --plot "$tmp/one.svg" > "$tmp/one.txt" 2> "$tmp/one.err"
ranks 2 "${args[@]}" --json "$tmp/two.json" --plot "$tmp/two.svg" > "$tmp/two.txt" 2> "$tmp/two.err" || { cat "$tmp/two.err"; exit 1; }
cat "$tmp/two.err"
grep -q "shared by 2 MPI ranks" "$tmp/two.err" || { echo "FAIL: the 2-rank run did not run as 2 ranks"; exit 1; }
grep -q "bench (rank 0 of 2) 6/6" "$tmp/two.err" || { echo "FAIL: rank 0 did not run half of the 12 edits"; exit 1; }
cmp "$tmp/one.svg" "$tmp/two.svg" || { echo "FAIL: the plots differ"; exit 1; }
# The table without its time columns (times differ run to run).
cut_times() { awk '{ $(NF-1) = ""; $(NF-2) = ""; print }' "$1"; }
diff <(cut_times "$tmp/one.txt") <(cut_times "$tmp/two.txt") || { echo "FAIL: the tables differ"; exit 1; }
cat "$tmp/two.txt"
python3 - "$tmp/one.json" "$tmp/two.json" <<'PY'
import json, sys
def strip(x):  # every value but the timings and the process's peak memory
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k not in ("time_s", "eval_s", "time", "phases", "peak_rss_mb")}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
one, two = (strip(json.load(open(p))) for p in sys.argv[1:3])
assert len(one["runs"]) == 4 and all(r["edits"] == 3 for r in one["runs"]), one["runs"]
if one != two:
    for a, b in zip(one["runs"], two["runs"]):
        if a != b: print("1 rank: ", json.dumps(a)[:400], "\n2 ranks:", json.dumps(b)[:400])
    sys.exit("FAIL: the JSON results differ between 1 and 2 ranks")
print("identical results for 1 and 2 ranks:", [(r["locator"], r["sweep"]["value"], r["SR"], round(r["GR"], 4), round(r["LR"], 4)) for r in one["runs"]])
PY
