# Sourced by the mpi.* tests: $vitedit, $mpiexec, $src from the arguments, a scratch folder $tmp,
# and `ranks N CMD...` to run vitedit CMD under mpiexec with N ranks on this machine.
set -euo pipefail
vitedit=$1 mpiexec=$2 src=$3
[ -n "$mpiexec" ] || { echo "SKIPPED: vitedit was built without MPI (configure with -DVITEDIT_MPI=ON; needs libopenmpi-dev)"; exit 77; }
model=$src/samples/models/vit-fmnist.safetensors
[ -f "$model" ] || { echo "SKIPPED: $model is not there"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Open MPI refuses root unless told (CI containers run as root); two ranks may share one core.
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
ranks() {
  local n=$1; shift
  "$mpiexec" --oversubscribe --bind-to none -np "$n" "$vitedit" "$@"
}
