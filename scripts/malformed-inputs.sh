#!/usr/bin/env bash
# Feeds every command malformed inputs and checks each is refused cleanly:
#   scripts/malformed-inputs.sh [VITEDIT] [MODEL]
# (defaults: build/bin/vitedit, samples/models/vit-fmnist.safetensors). For every case: the exit
# status is 1..127 (no signal, no abort), stderr names the offending input, no output file is left
# behind (the output folder stays empty: no half-written file, no temporary), and no input file
# changed (SHA-256 of every input before and after). One line per case, then a summary; exits 1
# when any case fails. Needs python3 (to make the malformed files). Takes a few seconds.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
V=$(realpath "${1:-$root/build/bin/vitedit}")
MODEL_SRC=$(realpath "${2:-$root/samples/models/vit-fmnist.safetensors}")
[ -x "$V" ] || { echo "malformed-inputs: no vitedit at $V (build first)" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
IN=$T/in OUT=$T/out
mkdir -p "$IN" "$OUT"
export VITEDIT_PLUGIN_PATH=  # only the build's own plugins, plus what a case names

# ---- the inputs --------------------------------------------------------------------------------
cp "$MODEL_SRC" "$IN/model.safetensors"
# A good image of the model's input kind, taken from the bundled benchmark when present.
pngs=("$root"/samples/bench/locality-sensitive/*/*.png); good_png=${pngs[0]}; [ -f "$good_png" ] || good_png=""  # a glob, not ls | head (SIGPIPE under pipefail)
python3 - "$IN" "$good_png" <<'EOF'
import json, os, struct, sys, zlib
d, good_png = sys.argv[1], sys.argv[2]
raw = open(os.path.join(d, "model.safetensors"), "rb").read()
(hlen,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + hlen])
body = raw[8 + hlen:]

def write(name, data):
    open(os.path.join(d, name), "wb").write(data)

def pack(h, b):
    s = json.dumps(h).encode()
    s += b" " * ((8 - len(s) % 8) % 8)
    return struct.pack("<Q", len(s)) + s + b

write("empty.safetensors", b"")
write("truncated.safetensors", raw[: len(raw) // 2])
write("huge-header.safetensors", struct.pack("<Q", 1 << 40) + raw[8:4096])
h = json.loads(json.dumps(header)); h["head.bias"]["data_offsets"] = [len(body) - 8, len(body) + 4096]
write("offsets.safetensors", pack(h, body))
h = json.loads(json.dumps(header)); h["head.weight"]["dtype"] = "F99"
write("dtype.safetensors", pack(h, body))
h = json.loads(json.dumps(header)); del h["head.weight"]
write("missing.safetensors", pack(h, body))
# blocks.2.mlp.fc1.weight with one row less: consistent as a file, wrong for the model.
h = json.loads(json.dumps(header)); t = h["blocks.2.mlp.fc1.weight"]
t["shape"] = [t["shape"][0] - 1, t["shape"][1]]; t["data_offsets"][1] -= 4 * t["shape"][1]
write("shape.safetensors", pack(h, body))
# A valid safetensors file that is no patch, and a patch cut short.
write("notpatch.vtp", pack({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0\0\0\0"))
write("cut.vtp", raw[:100])
write("garbage.png", b"this is not an image\n" * 10)
write("truncated.png", open(good_png, "rb").read()[:40] if good_png else b"\x89PNG\r\n\x1a\n")
# A PNG whose header claims 60000 x 60000 pixels (refused before anything is allocated).
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
write("huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)) +
      chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
# IDX files: images cut short, labels with a bad magic number.
os.makedirs(os.path.join(d, "fmnist"))
write("fmnist/t10k-images-idx3-ubyte", struct.pack(">IIII", 0x803, 10, 28, 28) + bytes(100))
write("fmnist/t10k-labels-idx1-ubyte", struct.pack(">II", 0x901, 10) + bytes(10))
write("chain.ini", b"[editor]\nname = rmsprop\nlr 1e-4\n")
# The same model with one weight changed: a patch made on the original must not apply to it.
other = bytearray(raw)
off = 8 + hlen + header["head.bias"]["data_offsets"][0]
other[off:off + 4] = struct.pack("<f", struct.unpack("<f", other[off:off + 4])[0] + 1.0)
write("other.safetensors", bytes(other))
EOF
cp "$good_png" "$IN/good.png"
mkdir -p "$IN/folder-bad-image/3" "$IN/folder-bad-label/12" "$IN/folder-ok/3" "$IN/plugins-foreign"
cp "$good_png" "$IN/folder-bad-image/3/a.png"; cp "$IN/garbage.png" "$IN/folder-bad-image/3/b.png"
cp "$good_png" "$IN/folder-bad-label/12/a.png"; cp "$good_png" "$IN/folder-ok/3/a.png"
# A shared library that is not a vitedit plugin, in a plugin folder.
libz=$(ldconfig -p 2>/dev/null | awk '/libz\.so\.1 .*x86-64|libz\.so\.1 /{print $NF; exit}')
[ -n "$libz" ] || libz=$(ls /usr/lib/*/libz.so.1 /lib/*/libz.so.1 2>/dev/null | head -1)
cp "$libz" "$IN/plugins-foreign/libforeign.so"
printf 'not an ELF file\n' >"$IN/plugins-foreign/broken.so"

cd "$IN"
M=model.safetensors
# A real patch of the model (two steps, written even if the image is not fixed yet).
"$V" edit --model $M --image good.png --label 0 --locator random:sparsity=0.05 --editor sgd:lr=0.1,steps=2 \
  --force --patch valid.vtp >/dev/null 2>&1 || { echo "malformed-inputs: cannot make a patch to test with" >&2; exit 2; }
hashes() { (cd "$IN" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(hashes)
pass=0 fail=0

# refuse NAME EXPECT -- ARGS...: the command must fail (1..127), say EXPECT on stderr, leave
# $OUT empty and every input unchanged.
refuse() {
  local name=$1 expect=$2; shift 3
  local err rc why=""
  err=$("$V" "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -lt 1 ] || [ $rc -gt 127 ]; then why="exit status $rc"; fi
  if [ -z "$why" ] && ! grep -qF -- "$expect" <<<"$err"; then why="stderr does not mention '$expect'"; fi
  if [ -z "$why" ] && [ -n "$(ls -A "$OUT")" ]; then why="left output behind: $(ls -A "$OUT" | tr '\n' ' ')"; fi
  local now; now=$(hashes)
  if [ -z "$why" ] && [ "$now" != "$before" ]; then why="an input file changed"; fi
  rm -rf "${OUT:?}"/* "$OUT"/.[!.]* 2>/dev/null
  local msg; msg=$(grep -v '^usage:\|^(see' <<<"$err" | tail -1 | cut -c1-150)
  if [ -z "$why" ]; then
    pass=$((pass + 1)); printf 'ok    %-34s exit %d: %s\n' "$name" "$rc" "$msg"
  else
    fail=$((fail + 1)); printf 'FAIL  %-34s %s\n      %s\n' "$name" "$why" "$msg"
  fi
}

# ---- weights ------------------------------------------------------------------------------------
refuse weights.empty             empty.safetensors       -- predict --model empty.safetensors --image good.png
refuse weights.truncated         truncated.safetensors   -- predict --model truncated.safetensors --image good.png
refuse weights.oversized-header  huge-header.safetensors -- eval --model huge-header.safetensors --data folder-ok
refuse weights.offsets           offsets.safetensors     -- edit --model offsets.safetensors --image good.png --label 3 --out "$OUT/e.safetensors"
refuse weights.unknown-dtype     dtype.safetensors       -- apply --model dtype.safetensors --patch notpatch.vtp --out "$OUT/a.safetensors"
refuse weights.missing-tensor    missing.safetensors     -- edit --model missing.safetensors --image good.png --label 3 --patch "$OUT/p.vtp"
refuse weights.wrong-shape       shape.safetensors       -- bench --model shape.safetensors --bench "$root/samples/bench" --json "$OUT/b.json"
refuse weights.missing-file      nosuch.safetensors      -- predict --model nosuch.safetensors --image good.png
refuse weights.meta-train        truncated.safetensors   -- meta-train --model truncated.safetensors --out "$OUT/new/h.safetensors" --iterations 1
refuse weights.bench-data        shape.safetensors       -- bench-data --model shape.safetensors --out "$OUT/bench"
# ---- images and data -------------------------------------------------------------------------------
refuse image.undecodable         garbage.png             -- predict --model $M --image garbage.png
refuse image.truncated           truncated.png           -- edit --model $M --image truncated.png --label 3 --out "$OUT/e.safetensors"
refuse image.oversized           "60000x60000 is out of range"                -- predict --model $M --image huge.png
refuse image.missing             nosuch.png              -- edit --model $M --image nosuch.png --label 3 --patch "$OUT/p.vtp"
refuse folder.undecodable-image  folder-bad-image/3/b.png -- eval --model $M --data folder-bad-image
refuse folder.label-out-of-range "label 12"              -- eval --model $M --data folder-bad-label
refuse folder.train-bad-image    folder-bad-image/3/b.png -- train --data folder-bad-image --out "$OUT/t.safetensors" --max-steps 1
refuse folder.missing            nosuch-dir              -- eval --model $M --data nosuch-dir
VITEDIT_FMNIST_DIR=$IN/fmnist \
  refuse idx.truncated           t10k-images-idx3-ubyte  -- eval --model $M --data fmnist:test
refuse label.out-of-range        "--label '10'"          -- edit --model $M --image good.png --label 10 --out "$OUT/e.safetensors"
refuse label.unknown-name        "--label 'Cat'"         -- edit --model $M --image good.png --label Cat --out "$OUT/e.safetensors"
refuse locality.undecodable      folder-bad-image/3/b.png -- edit --model $M --image good.png --label 3 --locality folder-bad-image --out "$OUT/e.safetensors"
refuse guard.missing-dir         nosuch-dir              -- edit --model $M --image good.png --label 3 --guard-locality nosuch-dir --out "$OUT/e.safetensors"
refuse guard.min-lr-range        "--min-lr"              -- edit --model $M --image good.png --label 3 --guard-locality folder-ok --min-lr 1.5 --out "$OUT/e.safetensors"
# ---- plugins, keys, values, backends ----------------------------------------------------------------
refuse plugin.unknown            nosuch                  -- edit --model $M --image good.png --label 3 --locator nosuch --out "$OUT/e.safetensors"
refuse plugin.unknown-key        "frobnicate"            -- edit --model $M --image good.png --label 3 --editor rmsprop:frobnicate=1 --out "$OUT/e.safetensors"
refuse plugin.bad-value          "lr='fast'"             -- edit --model $M --image good.png --label 3 --editor rmsprop:lr=fast --out "$OUT/e.safetensors"
refuse plugin.value-out-of-range "sparsity=2"            -- edit --model $M --image good.png --label 3 --locator saliency:sparsity=2 --out "$OUT/e.safetensors"
refuse plugin.bad-spec           "'rmsprop:lr'"          -- edit --model $M --image good.png --label 3 --editor rmsprop:lr --patch "$OUT/p.vtp"
refuse plugin.bad-config         chain.ini               -- edit --model $M --image good.png --label 3 --config chain.ini --out "$OUT/e.safetensors"
refuse plugin.bench-unknown      nosuch                  -- bench --model $M --bench "$root/samples/bench" --locator nosuch --json "$OUT/b.json"
refuse plugin.bad-blocks         "--edit-blocks"         -- edit --model $M --image good.png --label 3 --edit-blocks 2,x --out "$OUT/e.safetensors"
refuse plugin.block-out-of-range "block"                 -- edit --model $M --image good.png --label 3 --edit-blocks 2,3,40 --out "$OUT/e.safetensors"
refuse backend.unknown           "nosuch"                -- predict --model $M --image good.png --backend nosuch
if "$V" plugins 2>/dev/null | grep -q 'cuda.*unavailable'; then
  refuse backend.unavailable     "cuda"                  -- edit --model $M --image good.png --label 3 --backend cuda --out "$OUT/e.safetensors"
else
  echo "skip  backend.unavailable                  (the cuda backend can run here, or is not built)"
fi
# ---- patches -----------------------------------------------------------------------------------------
refuse patch.truncated           cut.vtp                 -- apply --model $M --patch cut.vtp --out "$OUT/a.safetensors"
refuse patch.not-a-patch         notpatch.vtp            -- revert --model $M --patch notpatch.vtp --out "$OUT/r.safetensors"
refuse patch.other-model         other.safetensors       -- apply --model other.safetensors --patch valid.vtp --out "$OUT/a.safetensors"
refuse patch.not-applied         valid.vtp               -- revert --model $M --patch valid.vtp --out "$OUT/r.safetensors"
refuse patch.out-over-patch      "over the patch"        -- apply --model $M --patch valid.vtp --out valid.vtp
refuse patch.missing             nosuch.vtp              -- apply --model $M --patch nosuch.vtp --out "$OUT/a.safetensors"
# ---- outputs -----------------------------------------------------------------------------------------
refuse out.over-input            "refusing to write over" -- edit --model $M --image good.png --label 3 --out $M
refuse out.no-directory          "nosuch-dir"            -- edit --model $M --image good.png --label 3 --out "$OUT/nosuch-dir/e.safetensors"
refuse train.bad-batch           "--batch"               -- train --data folder-ok --out "$OUT/t.safetensors" --batch 0
refuse bench-data.bad-data       nosuch-dir              -- bench-data --model $M --data nosuch-dir --out "$OUT/bench"

# ---- a foreign library in the plugin folder: listed as such, the rest still load ----------------------
listing=$("$V" plugins --plugin-dir plugins-foreign 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -A1 'not a vitedit plugin' <<<"$listing" | grep -q 'libforeign.so' &&
   grep -q 'load failed: .*broken.so' <<<"$listing" && grep -q 'saliency *ok' <<<"$listing"; then
  pass=$((pass + 1)); echo "ok    plugin.foreign-library             listed: $(grep 'not a vitedit plugin' <<<"$listing" | tr -s ' ' | cut -c1-110)"
else
  fail=$((fail + 1)); echo "FAIL  plugin.foreign-library             (exit $rc)"; echo "$listing" | sed 's/^/      /'
fi
"$V" predict --model $M --image good.png --plugin-dir plugins-foreign >/dev/null 2>&1 && pass=$((pass + 1)) &&
  echo "ok    plugin.foreign-library-still-works  predict runs with the foreign library in the plugin folder" ||
  { fail=$((fail + 1)); echo "FAIL  plugin.foreign-library-still-works"; }

echo "malformed inputs: $pass passed, $fail failed ($((pass + fail)) cases)"
[ $fail -eq 0 ]
