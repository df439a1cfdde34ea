#include "strided.hpp"

#include <cstring>
#include <type_traits>

#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// Pads a view to 4 dims with leading size-1 dims.
struct Dims4 {
    int64_t shape[4] = {1, 1, 1, 1};
    int64_t s[4] = {0, 0, 0, 0};
    int64_t d[4] = {0, 0, 0, 0};
    Dims4(int nd, const int64_t* sh, const int64_t* ss, const int64_t* ds) {
        for (int i = 0; i < nd; ++i) {
            shape[4 - nd + i] = sh[i];
            s[4 - nd + i] = ss ? ss[i] : 0;
            d[4 - nd + i] = ds[i];
        }
    }
    int64_t outer() const { return shape[0] * shape[1] * shape[2]; }
    // Offsets of outer index o (over dims 0..2) in the source and destination.
    void offsets(int64_t o, int64_t& so, int64_t& dof) const {
        int64_t i2 = o % shape[2], r = o / shape[2];
        int64_t i1 = r % shape[1], i0 = r / shape[1];
        so = i0 * s[0] + i1 * s[1] + i2 * s[2];
        dof = i0 * d[0] + i1 * d[1] + i2 * d[2];
    }
};

}  // namespace

namespace {

uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
    return static_cast<uint16_t>(u >> 16);
}

// dst = convert(src) over a strided view, rows in parallel; f32 -> f32 rows with unit strides
// are plain memcpy.
template <class Out, class Convert>
void strided_convert(int nd, const int64_t* shape, const float* src, const int64_t* src_stride, Out* dst,
                     const int64_t* dst_stride, Convert convert) {
    Dims4 v(nd, shape, src_stride, dst_stride);
    const int64_t outer = v.outer(), inner = v.shape[3];
    if (outer == 0 || inner == 0) return;
    const int64_t ss = v.s[3], ds = v.d[3];
#pragma omp parallel for schedule(static) if (worth_parallel(outer * inner) && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
        int64_t so, dof;
        v.offsets(o, so, dof);
        const float* s = src + so;
        Out* d = dst + dof;
        if constexpr (std::is_same_v<Out, float>) {
            if (ss == 1 && ds == 1) {
                std::memcpy(d, s, static_cast<size_t>(inner) * sizeof(float));
                continue;
            }
        }
        for (int64_t i = 0; i < inner; ++i) d[i * ds] = convert(s[i * ss]);
    }
}

}  // namespace

void strided_copy(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                  float* dst, const int64_t* dst_stride) {
    strided_convert(nd, shape, src, src_stride, dst, dst_stride, [](float x) { return x; });
}

void strided_copy_bf16(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                       uint16_t* dst, const int64_t* dst_stride) {
    strided_convert(nd, shape, src, src_stride, dst, dst_stride, to_bf16);
}

void strided_scale(int nd, const int64_t* shape, float* x, const int64_t* stride, float beta) {
    Dims4 v(nd, shape, nullptr, stride);
    const int64_t outer = v.outer(), inner = v.shape[3];
    if (outer == 0 || inner == 0) return;
    const int64_t xs = v.d[3];
#pragma omp parallel for schedule(static) if (worth_parallel(outer * inner) && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
        int64_t unused, off;
        v.offsets(o, unused, off);
        float* p = x + off;
        if (beta == 0.0f) {
            for (int64_t i = 0; i < inner; ++i) p[i * xs] = 0.0f;
        } else {
            for (int64_t i = 0; i < inner; ++i) p[i * xs] *= beta;
        }
    }
}

}  // namespace vitedit::onednn
