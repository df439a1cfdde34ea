#!/usr/bin/env bash
# c_locator.sh VITEDIT C_PLUGIN_DIR SOURCE_DIR — the C locator sample is listed by the host, and
# an edit of the bundled model with it fixes a benchmark failure; a config key it does not know
# is refused with its message (the C plugin's per-thread last_error).
set -euo pipefail
V=$1 dir=$2 src=$3
M=$src/samples/models/vit-fmnist.safetensors
group=6_shirt_heldout
imgs=("$src/samples/bench/groups/$group"/*.png)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$V" plugins --plugin-dir "$dir" >"$tmp/plugins.txt"
grep -E "gradnorm.*ok|ok.*gradnorm" "$tmp/plugins.txt" || { cat "$tmp/plugins.txt"; echo "gradnorm not listed as ok" >&2; exit 1; }

"$V" edit --plugin-dir "$dir" --model "$M" --image "${imgs[0]}" --label 6 --locator gradnorm --patch "$tmp/edit.vtp" --json >"$tmp/edit.json"
python3 - "$tmp/edit.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("edit with gradnorm:", {k: r.get(k) for k in ("success", "steps", "units_changed", "loss")})
assert r["success"] is True, r
PY

if "$V" edit --plugin-dir "$dir" --model "$M" --image "${imgs[0]}" --label 6 --locator gradnorm:power=2 --patch "$tmp/bad.vtp" 2>"$tmp/err.txt"; then
  echo "an unknown option was accepted" >&2; exit 1
fi
grep -q "unknown option 'power=2'" "$tmp/err.txt" || { cat "$tmp/err.txt"; echo "the C plugin's message did not reach the user" >&2; exit 1; }
echo "ok: listed, edited, bad option refused with its message"
