// Launch geometry and warp helpers shared by the kernels (device code only).
//
// Three shapes of kernel:
//   - flat:  grid-stride loop over n elements (FLAT_LOOP);
//   - rows:  an [R, C] walk without divisions: threadIdx.x/blockIdx.x over columns, threadIdx.y/
//            blockIdx.y over rows, both grid-stride (ROWS_LOOP / COLS_LOOP, launch with rows_launch);
//   - warps: one warp per row for row reductions (WARP_ROWS_LOOP, launch with warp_rows_grid).
#pragma once

#include <algorithm>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels.hpp"

namespace vitedit::cuda::kernels {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;

inline unsigned flat_grid(int64_t n) {
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 16384));
}

struct RowsLaunch {
    dim3 grid, block;
};
// Block: up to 256 threads across columns (a multiple of 32 covering C when C is small), the
// rest of the 256 stacked over rows.
inline RowsLaunch rows_launch(int64_t R, int64_t C) {
    int64_t tx = std::min<int64_t>(kThreads, std::max<int64_t>(32, (C + 31) / 32 * 32));
    int64_t ty = kThreads / tx;
    int64_t gx = std::clamp<int64_t>((C + tx - 1) / tx, 1, 65535);
    int64_t gy = std::clamp<int64_t>((R + ty - 1) / ty, 1, 65535);
    return {dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)),
            dim3(static_cast<unsigned>(tx), static_cast<unsigned>(ty))};
}

inline unsigned warp_rows_grid(int64_t R) {
    const int64_t blocks = (R + kWarpsPerBlock - 1) / kWarpsPerBlock;
    return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535));
}

#define VE_FLAT_LOOP(i, n)                                                                   \
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);  \
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
#define VE_ROWS_LOOP(r, R)                                                                   \
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < (R);  \
         r += static_cast<int64_t>(gridDim.y) * blockDim.y)
#define VE_COLS_LOOP(c, C)                                                                   \
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < (C);  \
         c += static_cast<int64_t>(gridDim.x) * blockDim.x)
// One warp per row; `lane` is the thread's lane (0..31). All lanes of a warp see the same row,
// so warp shuffles inside the loop are safe.
#define VE_WARP_ROWS_LOOP(r, R)                                                              \
    for (int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;     \
         r < (R); r += (static_cast<int64_t>(gridDim.x) * blockDim.x) / 32)

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ double warp_max(double v) {
    for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

}  // namespace vitedit::cuda::kernels
