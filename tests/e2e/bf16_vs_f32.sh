#!/usr/bin/env bash
# --precision bf16 (onednn: bf16 GEMM operands, f32 accumulation and weights) against f32 on the
# bundled model's locality set — the 300 most fragile correct predictions, where a wrong
# conversion shows first: the logits must differ (bf16 really ran) by at most 0.25, the classes
# agree on at least 97 %; then an edit in bf16 fixes a benchmark failure.
# usage: bf16_vs_f32.sh VITEDIT SOURCE_DIR
set -euo pipefail
vitedit=$1 src=$2
model=$src/samples/models/vit-fmnist.safetensors bench=$src/samples/bench
[ -d "$bench" ] || { echo "SKIPPED: no bundled benchmark"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(); for f in "$bench"/locality-sensitive/*/*.png; do args+=(--image "$f"); done
"$vitedit" predict --model "$model" "${args[@]}" --json --backend onednn > "$tmp/f32.jsonl"
if ! "$vitedit" predict --model "$model" "${args[@]}" --json --backend onednn --precision bf16 > "$tmp/bf16.jsonl" 2> "$tmp/bf16.err"; then
  # A CPU without AVX-512 has no oneDNN bf16 matmul: the backend refuses the precision at create.
  grep -q "precision bf16 is not available on this CPU" "$tmp/bf16.err" && { echo "SKIPPED: $(cat "$tmp/bf16.err")"; exit 77; }
  cat "$tmp/bf16.err"; exit 1
fi
python3 - "$tmp/f32.jsonl" "$tmp/bf16.jsonl" <<'PY'
import json, sys
a, b = ([r for r in map(json.loads, open(p)) if "logits" in r] for p in sys.argv[1:3])
assert len(a) == len(b) > 0, (len(a), len(b))
d = max(abs(u - v) for x, y in zip(a, b) for u, v in zip(x["logits"], y["logits"]))
same = sum(x["class"] == y["class"] for x, y in zip(a, b)) / len(a)
print(f"{len(a)} images: max |logit f32 - bf16| {d:.4f}, same class {same:.3f}")
assert 0 < d <= 0.25, f"max |dlogit| {d} outside (0, 0.25]"
assert same >= 0.97, f"classes agree on {same}"
PY
# bf16 is chosen per layer, not per batch size: an image alone gets the logits it gets in a batch
# (up to f32 summation order), else an edit stopping at the first correct prediction in bf16
# could be wrong when evaluated in a batch.
locality=("$bench"/locality-sensitive/*/*.png); first=${locality[0]}  # (not ls | head: SIGPIPE under pipefail)
"$vitedit" predict --model "$model" --image "$first" --json --backend onednn --precision bf16 > "$tmp/alone.jsonl"
python3 - "$tmp/alone.jsonl" "$tmp/bf16.jsonl" <<'PY'
import json, sys
a = [r for r in map(json.loads, open(sys.argv[1])) if "logits" in r][0]
b = [r for r in map(json.loads, open(sys.argv[2])) if "logits" in r][0]
d = max(abs(u - v) for u, v in zip(a["logits"], b["logits"]))
print(f"bf16 alone vs in a batch: max |dlogit| {d:.2e}")
assert d <= 1e-4, f"bf16 logits of one image depend on the batch: {d}"
PY
group=$bench/groups/6_shirt_heldout
shirts=("$group"/*.png); img=${shirts[0]}
"$vitedit" edit --model "$model" --image "$img" --label 6 --locator saliency --sparsity 0.05 --precision bf16 \
  --backend onednn --patch "$tmp/fix.vtp" --json | tail -n 1 | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
print("bf16 edit: success", j["success"], "steps", j["steps"])
assert j["success"] is True'
# refused where it is not provided
if "$vitedit" predict --model "$model" --image "$img" --backend torch --precision bf16 2> "$tmp/err"; then
  echo "FAIL: --precision bf16 accepted on torch"; exit 1
fi
grep -q "onednn backend only" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "bf16: ok"
