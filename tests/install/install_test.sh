#!/usr/bin/env bash
# shellcheck disable=SC2016  # $ORIGIN in single quotes is the literal RUNPATH token
# The SDK as a product (issue 8): from an installed prefix alone,
#   1. `cmake --install` of this build tree lays out bin/, lib/, lib/vitedit/plugins/, include/,
#      lib/cmake/vitedit/, with RPATHs that point into the prefix, never into the build tree;
#   2. samples/custom-locator (C++) and samples/c-locator (C), copied away from the source tree,
#      configure with find_package(vitedit) against that prefix only and build warning-free
#      (-Werror), linking no vitedit library;
#   3. the installed host finds the installed backends/locators/editors by itself, and lists the
#      sample as ok with --plugin-dir;
#   4. `vitedit edit --locator relgrad` fixes a misclassified image (exit 0) — skipped (77) only
#      when /usr/bin/python3 lacks torch to make the small reference model.
# usage: install_test.sh CMAKE BUILD_DIR SOURCE_DIR [GENERATOR]
set -euo pipefail
cmake=$1 build=$2 src=$3 generator=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
unset VITEDIT_PLUGIN_PATH
fail() { echo "FAIL: $*" >&2; exit 1; }
t0=$SECONDS

# 1. install
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
for f in bin/vitedit lib/libvitedit_io.so lib/libvitedit_engine.so lib/libvitedit_runtime.so lib/libvitedit_meta.so \
         lib/libvitedit_eval.so include/vitedit/abi.h include/vitedit/plugin.h include/vitedit/plugin_author.hpp \
         include/vitedit/gradient_editor.hpp include/vitedit/backend_author.hpp include/vitedit/boundary.hpp \
         include/vitedit/options.hpp include/vitedit/eval/metrics.hpp \
         lib/cmake/vitedit/vitedit-config.cmake lib/cmake/vitedit/vitedit-config-version.cmake \
         lib/cmake/vitedit/vitedit-targets.cmake lib/cmake/vitedit/VitEditPlugin.cmake; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done
shopt -s nullglob
installed=("$prefix"/lib/vitedit/plugins/*.so)
built=("$build"/bin/plugins/*.so)
[[ ${#installed[@]} -gt 0 && ${#installed[@]} -eq ${#built[@]} ]] ||
  fail "${#installed[@]} plugins installed, ${#built[@]} in the build tree"
runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }
[[ $(runpath "$prefix/bin/vitedit") == '$ORIGIN/../lib' ]] || fail "bin/vitedit RUNPATH is '$(runpath "$prefix/bin/vitedit")'"
# Plugins are bound to the C ABI only: none needs a vitedit library.
needs_vitedit() { readelf -d "$1" | grep NEEDED | grep -o 'libvitedit[^]]*' || true; }
for so in "${installed[@]}"; do
  rp=$(runpath "$so")
  [[ $rp != *"$build"* ]] || fail "$(basename "$so"): RUNPATH '$rp' points into the build tree"
  [[ -z $(needs_vitedit "$so") ]] || fail "$(basename "$so") needs $(needs_vitedit "$so")"
done
for lib in runtime eval; do
  sdk=$(ldd "$prefix/bin/vitedit" | awk "/libvitedit_$lib/ {print \$3}")
  [[ -n $sdk && $(realpath "$sdk") == $(realpath "$prefix/lib/libvitedit_$lib.so") ]] || fail "bin/vitedit resolves libvitedit_$lib.so to '$sdk'"
done
echo "installed: ${#installed[@]} plugins, host, SDK, headers, CMake package"

# 2. the sample, out of tree: a copy outside the source tree, only the prefix to build against
cp -r "$src/samples/custom-locator" "$work/sample"
gen=()
[[ -n $generator ]] && gen=(-G "$generator")
"$cmake" -S "$work/sample" -B "$work/sample-build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure the sample"; }
found=$(sed -n 's/^vitedit_DIR:PATH=//p' "$work/sample-build/CMakeCache.txt")
[[ $found == "$prefix/lib/cmake/vitedit" ]] || fail "find_package(vitedit) found '$found', not the prefix"
"$cmake" --build "$work/sample-build" --parallel 1 >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build the sample"; }
sample=$work/sample-build/vitedit-locator-relgrad.so
[[ -f $sample ]] || fail "the sample built no vitedit-locator-relgrad.so (no 'lib' prefix expected)"
# Hidden visibility: of the plugin's own symbols only vitedit_query is exported (instantiations
# from std/Boost headers, which carry default visibility, may be too).
nm -D --defined-only "$sample" | awk '{print $3}' | grep -qx vitedit_query || fail "the sample does not export vitedit_query"
own=$(nm -DC --defined-only "$sample" | grep -Ei 'relgrad|vitedit::' || true)
[[ -z $own ]] || fail "the sample exports its own symbols (visibility not hidden): $own"
[[ -z $(needs_vitedit "$sample") ]] || fail "the sample needs $(needs_vitedit "$sample")"
echo "sample: built out of tree against $found"

# 2b. the C sample, out of tree the same way
cp -r "$src/samples/c-locator" "$work/c-sample"
"$cmake" -S "$work/c-sample" -B "$work/c-sample-build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >"$work/c-configure.log" 2>&1 ||
  { cat "$work/c-configure.log"; fail "configure the C sample"; }
"$cmake" --build "$work/c-sample-build" --parallel 1 >"$work/c-build.log" 2>&1 || { cat "$work/c-build.log"; fail "build the C sample"; }
c_sample=$work/c-sample-build/vitedit-locator-gradnorm.so
[[ -f $c_sample && -z $(needs_vitedit "$c_sample") ]] || fail "the C sample did not build, or needs a vitedit library"
echo "C sample: built out of tree against $found"

# 3. the installed host lists its own plugins and the sample
vitedit=$prefix/bin/vitedit
"$vitedit" plugins --plugin-dir "$work/sample-build" >"$work/plugins.txt" || { cat "$work/plugins.txt"; fail "vitedit plugins"; }
cat "$work/plugins.txt"
grep -A1 -E '^  relgrad +ok ' "$work/plugins.txt" | grep -q "$work/sample-build/vitedit-locator-relgrad.so" ||
  fail "the sample locator is not listed as ok"
"$vitedit" plugins --plugin-dir "$work/c-sample-build" | grep -qE '^  gradnorm +ok ' || fail "the C sample is not listed as ok"
for p in saliency rmsprop; do
  grep -A1 -E "^  $p +ok " "$work/plugins.txt" | grep -q "$prefix/lib/vitedit/plugins/" ||
    fail "the installed host did not find its installed '$p' in $prefix/lib/vitedit/plugins"
done
if grep -q "$build" "$work/plugins.txt"; then fail "the installed host loaded something from the build tree"; fi
# Installed with no prefix of its own, the sample goes to the vitedit prefix, where the host
# finds it without --plugin-dir.
"$cmake" --install "$work/sample-build" >/dev/null || fail "install the sample"
[[ -f $prefix/lib/vitedit/plugins/vitedit-locator-relgrad.so ]] || fail "the sample did not install to $prefix/lib/vitedit/plugins"
"$vitedit" plugins >"$work/plugins2.txt"
grep -A1 -E '^  relgrad +ok ' "$work/plugins2.txt" | grep -q "$prefix/lib/vitedit/plugins/vitedit-locator-relgrad.so" ||
  { cat "$work/plugins2.txt"; fail "the installed sample is not found by the installed host"; }
echo "sample: installed into the vitedit prefix, found there without --plugin-dir"

# 4. an edit with the sample locator
py=/usr/bin/python3
if ! $py -c "import torch, torchvision" 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 has no torch/torchvision to make the reference model (apt install python3-torch python3-torchvision)"
  exit 77
fi
$py "$src/scripts/make_reference_vit.py" --out-dir "$work/model" --seed 3 >/dev/null
read -r predicted label < <($py - "$work/model/expected.json" <<'PY'
import json, os, sys
for i in json.load(open(sys.argv[1]))["images"]:
    if os.path.basename(i["file"]) == "img0.png":
        lg = i["logits"]
        p = max(range(len(lg)), key=lg.__getitem__)
        print(p, (p + 1) % len(lg))
PY
)
echo "img0.png: predicted $predicted, editing to $label"
rc=0
"$vitedit" edit --model "$work/model/timm.safetensors" --image "$work/model/img0.png" --label "$label" \
  --plugin-dir "$work/sample-build" --locator relgrad:sparsity=0.1 --editor rmsprop:lr=1e-3,steps=200 \
  --patch "$work/fix.vtp" --json >"$work/edit.json" || rc=$?
[[ $rc -eq 0 ]] || { cat "$work/edit.json"; fail "vitedit edit --locator relgrad exited $rc"; }
cat "$work/edit.json"
$py - "$work/edit.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["success"] and r["SR"] == 1.0 and r["written"], r
assert 0 < r["budget"] <= 0.11, r["budget"]
PY
[[ -s $work/fix.vtp ]] || fail "no patch written"
echo "edit with the sample locator succeeded ($((SECONDS - t0)) s in all)"
