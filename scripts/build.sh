#!/usr/bin/env bash
# Configures and builds vitedit (Release) into ${BUILD_DIR:-build}. Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
# MPI support (mpirun -np N vitedit bench|meta-train, docs/scaling.md) whenever Open MPI is
# installed (scripts/install-deps.sh installs it), so CI runs the MPI tests; -DVITEDIT_MPI=OFF
# in the arguments wins. The CMake default stays OFF: a plain build needs no MPI.
mpi=()
if command -v mpicxx >/dev/null && command -v mpirun >/dev/null; then mpi=(-DVITEDIT_MPI=ON); fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${mpi[@]}" "$@"
cmake --build "$build" -j "${JOBS:-$(nproc)}"
