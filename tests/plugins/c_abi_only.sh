#!/usr/bin/env bash
# c_abi_only.sh PLUGIN_DIR [EXTRA.so...] — fails when a plugin library imports a vitedit C++
# symbol (an undefined dynamic symbol whose demangled name mentions vitedit): such a plugin is
# bound to the C++ interface of a vitedit library, not to the C ABI alone.
set -euo pipefail
dir=$1
shift
libs=("$dir"/*.so "$dir"/deferred/*.so "$@")
checked=0 bad=0
for lib in "${libs[@]}"; do
  [ -f "$lib" ] || continue
  checked=$((checked + 1))
  imports=$(nm -D --undefined-only -C "$lib" | grep -i vitedit || true)
  if [ -n "$imports" ]; then
    echo "FAIL $(basename "$lib") imports:" >&2
    echo "$imports" | sed 's/^/    /' >&2
    bad=$((bad + 1))
  else
    echo "ok   $(basename "$lib"): $(nm -D --undefined-only "$lib" | wc -l) undefined symbols, none of vitedit"
  fi
done
[ "$checked" -ge 5 ] || { echo "found only $checked plugin libraries under $dir" >&2; exit 1; }
[ "$bad" -eq 0 ] || { echo "$bad of $checked plugins import vitedit C++ symbols" >&2; exit 1; }
echo "all $checked plugins import no vitedit symbol"
