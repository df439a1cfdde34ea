// vitedit — the one collective operation data-parallel training needs: an element-wise sum over
// every process of a job.
//
// The engine never talks to MPI (or any transport) itself: a caller that runs several processes
// (the host's `mpirun` support, host/mpi_world.hpp) hands an implementation of this interface to
// MetaTrainer, which splits each batch across the processes and sums the hypernetwork's gradients
// with it. A null Collective* everywhere means a single process.
#pragma once

#include <cstddef>

namespace vitedit {

class Collective {
public:
    virtual ~Collective() = default;
    virtual int rank() const = 0;  // this process, 0 .. size() - 1
    virtual int size() const = 0;  // processes taking part
    // data[i] = the sum of data[i] over every process, in place. Every process must call it with
    // the same n, and every process receives the same (bit-identical) values.
    virtual void sum(float* data, size_t n) = 0;
    virtual void sum(double* data, size_t n) = 0;
};

// The rows [begin, end) of a batch of n rows that process `rank` of `size` takes: contiguous
// blocks, the first n % size processes one row more.
struct RowShare {
    long long begin = 0, end = 0;
    static RowShare of(long long n, int rank, int size) {
        const long long base = n / size, extra = n % size;
        RowShare s;
        s.begin = rank * base + (rank < extra ? rank : extra);
        s.end = s.begin + base + (rank < extra ? 1 : 0);
        return s;
    }
};

}  // namespace vitedit
