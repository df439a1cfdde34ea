#!/usr/bin/env bash
# Installs the Debian 12 packages vitedit builds and tests with (root or sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost-dev libboost-filesystem-dev libboost-program-options-dev
  libdnnl-dev                      # oneDNN 2.6: the onednn backend
  libtorch-dev libopenblas0-pthread # LibTorch 1.13: the torch backend and the tests' reference
  catch2 libstb-dev nlohmann-json3-dev zlib1g-dev libbenchmark-dev
  libssl-dev                       # libcrypto's SHA-256 (model and patch hashes)
  dataset-fashion-mnist            # the bundled benchmark's images
  python3 python3-torch python3-torchvision python3-numpy  # PyTorch cross-check in the tests
  libopenmpi-dev openmpi-bin       # mpirun -np N vitedit bench|meta-train, and its tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
