#!/usr/bin/env bash
# The chain INI (`--config`, read by Boost.Program_options' config-file parser): the same chain
# written as a file or as flags makes a byte-identical edited model; a malformed file is refused
# with a message naming what is wrong, and nothing is written.
# usage: chain_config.sh VITEDIT REPO_ROOT
set -euo pipefail
V=$1 root=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M=$root/samples/models/vit-fmnist.safetensors
tees=("$root"/samples/bench/groups/0_t-shirt-top_heldout/*.png); img=${tees[0]}
fail() { echo "FAIL: $*"; exit 1; }

cat >"$T/chain.ini" <<'INI'
# the chain of the flags below
[locator]
name = saliency
sparsity = 0.05
[editor]
name = rmsprop
lr = 1e-3
steps = 10
[sites]
blocks = 4,5
INI
"$V" edit --model "$M" --image "$img" --label 0 --config "$T/chain.ini" --out "$T/ini.safetensors" --force 2>"$T/ini.err" \
  || { cat "$T/ini.err"; fail "edit with --config failed"; }
"$V" edit --model "$M" --image "$img" --label 0 --locator saliency:sparsity=0.05 --editor rmsprop:lr=1e-3,steps=10 \
  --edit-blocks 4,5 --out "$T/flags.safetensors" --force 2>"$T/flags.err" || { cat "$T/flags.err"; fail "edit with flags failed"; }
cmp -s "$T/ini.safetensors" "$T/flags.safetensors" || fail "the INI chain and the same chain as flags edited differently"

# Flags win over the file.
"$V" edit --model "$M" --image "$img" --label 0 --config "$T/chain.ini" --sparsity 0.1 --edit-blocks 3,4,5 \
  --out "$T/over.safetensors" --force 2>/dev/null || fail "edit with --config and overrides failed"
cmp -s "$T/over.safetensors" "$T/ini.safetensors" && fail "--sparsity/--edit-blocks did not override the file"

bad() {  # bad NAME EXPECTED-MESSAGE: the INI on stdin is refused with the message
  cat >"$T/$1.ini"
  set +e
  "$V" edit --model "$M" --image "$img" --label 0 --config "$T/$1.ini" --out "$T/$1.safetensors" >"$T/$1.out" 2>"$T/$1.err"; rc=$?
  set -e
  [ $rc -ne 0 ] || fail "$1: accepted"
  grep -qF "$2" "$T/$1.err" || { cat "$T/$1.err"; fail "$1: no message '$2'"; }
  [ ! -e "$T/$1.safetensors" ] || fail "$1: wrote an output"
}
printf '[locator]\nname = saliency\n[optimizer]\nlr = 1\n' | bad section "unknown section [optimizer]"
printf 'sparsity = 0.1\n' | bad outside "key outside a section"
printf '[locator]\nsparsity 0.1\n' | bad syntax "invalid line"
printf '[editor]\nlr = 1e-3\nlr = 1e-2\n' | bad twice "editor.lr: given twice"
printf '[editor]\nlr = 1e-3,steps=5\n' | bad comma "contains ','"
printf '[sites]\nlayers = 4\n' | bad sites "unknown key in [sites]"
printf '[editor]\nmomentum = 0.9\n' | bad unknown "unknown option 'momentum'"
echo "chain config: INI equals flags, flags override, 7 malformed files refused"
