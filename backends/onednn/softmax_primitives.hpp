// oneDNN softmax primitives, cached per shape (GELU is gelu.hpp's own kernel).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>

#include <dnnl.hpp>

namespace vitedit::onednn {

class SoftmaxPrimitives {
public:
    SoftmaxPrimitives(const dnnl::engine& engine, dnnl::stream& stream);

    // y = softmax(src) over rows of length cols; src may be y (in place).
    void softmax_fwd(const float* src, float* y, int64_t rows, int64_t cols);

private:
    struct Softmax {
        dnnl::softmax_forward fwd;
        dnnl::memory::desc md;
    };
    struct PairHash {
        size_t operator()(const std::pair<int64_t, int64_t>& p) const noexcept {
            return std::hash<int64_t>()(p.first * 1000003 + p.second);
        }
    };

    dnnl::engine engine_;
    dnnl::stream& stream_;
    std::unordered_map<std::pair<int64_t, int64_t>, Softmax, PairHash> softmax_;
};

}  // namespace vitedit::onednn
