// vitedit host — the processes of one `mpirun -np N vitedit ...` job, or this process alone.
//
// Built with -DVITEDIT_MPI=ON and started by mpirun/srun, World wraps MPI_COMM_WORLD (MPI_Init in
// main, before anything else; MPI_Finalize when main returns). Otherwise it is one process of
// rank 0 and every collective is the identity — commands are written once for both cases.
// Only rank 0 prints progress and results and writes files; the others compute their share.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/collective.hpp"
#include "vitedit/registry.hpp"

namespace vitedit::cli {

class World final : public Collective {
public:
    // The job this process belongs to (one process until init() has run under mpirun).
    static World& get();
    // Under an MPI launcher (mpirun, srun): MPI_Init (thread level FUNNELED: only the main thread
    // calls MPI) and, when the user left it unset and several ranks share this node,
    // OMP_NUM_THREADS = cores / ranks on the node, so that ranks do not fight over the cores.
    // A no-op without MPI or without a launcher.
    static void init(int* argc, char*** argv);
    // MPI_Finalize; but MPI_Abort after an error (status 1: an exception, which may have hit this
    // rank alone) when other ranks may be waiting in a collective for this one. Other statuses
    // (usage errors, an interrupt all ranks agreed on) are the same on every rank. Returns status.
    static int finish(int status);

    static bool built_with_mpi();

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_rank() const { return local_rank_; }  // among the ranks on this node
    int local_size() const { return local_size_; }
    bool root() const { return rank_ == 0; }
    // Where to print what a single process would print: std::cerr on rank 0, nowhere elsewhere.
    std::ostream& log() const;

    void sum(float* data, size_t n) override;
    void sum(double* data, size_t n) override;
    // Rank 0 receives every rank's string, in rank order; the others receive an empty vector.
    std::vector<std::string> gather(const std::string& mine);
    void barrier();

private:
    World() = default;
    int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// The backend of this rank ("" = the best usable one, as Registry::create_backend): with several
// ranks on a node and the cuda backend, each rank gets its own GPU — device=<local rank modulo the
// devices the rank sees> — unless `config` already names a device. The count comes from
// CUDA_VISIBLE_DEVICES (Slurm's --gpus-per-task sets it per rank); without it, the local rank is
// the device. Other backends have one device and get `config` unchanged.
std::shared_ptr<Backend> create_rank_backend(Registry& registry, const std::string& name, const std::string& config = "");

}  // namespace vitedit::cli
