// oneDNN eltwise (exact GELU) and softmax primitives, cached per size.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>

#include <dnnl.hpp>

namespace vitedit::onednn {

class ActivationPrimitives {
public:
    ActivationPrimitives(const dnnl::engine& engine, dnnl::stream& stream);

    // y = gelu_erf(x), n contiguous elements.
    void gelu_fwd(const float* x, float* y, int64_t n);
    // dx = dy * gelu_erf'(x).
    void gelu_bwd(const float* dy, const float* x, float* dx, int64_t n);
    // y = softmax(src) over rows of length cols; src may be y (in place).
    void softmax_fwd(const float* src, float* y, int64_t rows, int64_t cols);

private:
    struct Gelu {
        dnnl::eltwise_forward fwd;
        dnnl::eltwise_backward bwd;
        dnnl::memory::desc md;
    };
    struct Softmax {
        dnnl::softmax_forward fwd;
        dnnl::memory::desc md;
    };
    struct PairHash {
        size_t operator()(const std::pair<int64_t, int64_t>& p) const noexcept {
            return std::hash<int64_t>()(p.first * 1000003 + p.second);
        }
    };

    Gelu& gelu(int64_t n);

    dnnl::engine engine_;
    dnnl::stream& stream_;
    std::unordered_map<int64_t, Gelu> gelu_;
    std::unordered_map<std::pair<int64_t, int64_t>, Softmax, PairHash> softmax_;
};

}  // namespace vitedit::onednn
