// vitedit host — the MPI job (or this process alone).
#include "mpi_world.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <thread>

#ifdef VITEDIT_MPI
#include <mpi.h>
#endif

namespace vitedit::cli {

namespace {

#ifdef VITEDIT_MPI
void check(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<size_t>(len)));
}
// In-place sum over all ranks, in chunks: an MPI count is an int.
template <class T>
void allreduce_sum(T* data, size_t n, MPI_Datatype type, const char* what) {
    for (size_t off = 0; off < n; off += 1u << 30) {
        const int k = static_cast<int>(std::min<size_t>(n - off, 1u << 30));
        check(MPI_Allreduce(MPI_IN_PLACE, data + off, k, type, MPI_SUM, MPI_COMM_WORLD), what);
    }
}
bool mpi_running() {
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    return up && !down;
}
#endif

}  // namespace

World& World::get() {
    static World w;
    return w;
}

bool World::built_with_mpi() {
#ifdef VITEDIT_MPI
    return true;
#else
    return false;
#endif
}

void World::init(int* argc, char*** argv) {
#ifdef VITEDIT_MPI
    // Only under a launcher (mpirun, or srun through PMI/PMIx): a plain `vitedit ...` stays a
    // plain process, without the start-up cost and messages of an MPI singleton.
    bool launched = false;
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) launched = launched || std::getenv(v);
    if (!launched) return;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        std::cerr << "vitedit: MPI_Init failed\n";
        std::exit(1);
    }
    World& w = get();
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &w.local_rank_);
    MPI_Comm_size(node, &w.local_size_);
    MPI_Comm_free(&node);
    // oneDNN's OpenMP reads OMP_NUM_THREADS when its library loads (the registry's scan, later).
    if (w.local_size_ > 1 && !std::getenv("OMP_NUM_THREADS")) {
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        const unsigned each = std::max(1u, cores / static_cast<unsigned>(w.local_size_));
        setenv("OMP_NUM_THREADS", std::to_string(each).c_str(), 1);
    }
#else
    (void)argc, (void)argv;
#endif
}

int World::finish(int status) {
#ifdef VITEDIT_MPI
    if (mpi_running()) {
        // A failed rank must not leave the others blocked in a collective that it will never join.
        if (status == 1 && get().size_ > 1) MPI_Abort(MPI_COMM_WORLD, status);
        MPI_Finalize();
    }
#endif
    return status;
}

std::ostream& World::log() const {
    static std::ostream nowhere(nullptr);  // no buffer: every write is dropped
    return root() ? std::cerr : nowhere;
}

void World::sum(float* data, size_t n) {
    if (size_ == 1) return;
#ifdef VITEDIT_MPI
    allreduce_sum(data, n, MPI_FLOAT, "allreduce (float)");
#else
    (void)data, (void)n;
#endif
}

void World::sum(double* data, size_t n) {
    if (size_ == 1) return;
#ifdef VITEDIT_MPI
    allreduce_sum(data, n, MPI_DOUBLE, "allreduce (double)");
#else
    (void)data, (void)n;
#endif
}

std::vector<std::string> World::gather(const std::string& mine) {
    if (size_ == 1) return {mine};
#ifdef VITEDIT_MPI
    if (mine.size() > static_cast<size_t>(std::numeric_limits<int>::max())) throw Error("MPI gather: a rank's result is over 2 GiB");
    int len = static_cast<int>(mine.size());
    std::vector<int> lens(root() ? size_ : 0), offs(root() ? size_ : 0);
    check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "gather (sizes)");
    std::vector<char> all;
    if (root()) {
        long long total = 0;
        for (int r = 0; r < size_; ++r) offs[r] = static_cast<int>(total), total += lens[r];
        if (total > std::numeric_limits<int>::max()) throw Error("MPI gather: the ranks' results are over 2 GiB together");
        all.resize(static_cast<size_t>(total));
    }
    check(MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
          "gather");
    std::vector<std::string> out;
    for (int r = 0; root() && r < size_; ++r) out.emplace_back(all.data() + offs[r], static_cast<size_t>(lens[r]));
    return out;
#else
    return {mine};
#endif
}

void World::barrier() {
#ifdef VITEDIT_MPI
    if (size_ > 1) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
}

std::shared_ptr<Backend> create_rank_backend(Registry& registry, const std::string& name, const std::string& config) {
    const World& w = World::get();
    const std::string chosen = registry.backend_record(name).name;
    if (w.local_size() <= 1 || chosen != "cuda" || config.find("device=") != std::string::npos)
        return registry.create_backend(chosen, config);
    int devices = 0;
    if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES"); v && *v) {
        devices = 1;
        for (const char* c = v; *c; ++c) devices += *c == ',';
    }
    const int device = devices > 0 ? w.local_rank() % devices : w.local_rank();
    return registry.create_backend(chosen, (config.empty() ? "" : config + ",") + "device=" + std::to_string(device));
}

}  // namespace vitedit::cli
