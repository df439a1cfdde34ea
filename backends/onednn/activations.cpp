#include "activations.hpp"

#include <string>

#include "dnnl_errors.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

namespace {
constexpr size_t kMaxCached = 256;
}

ActivationPrimitives::ActivationPrimitives(const dnnl::engine& engine, dnnl::stream& stream)
    : engine_(engine), stream_(stream) {}

ActivationPrimitives::Gelu& ActivationPrimitives::gelu(int64_t n) {
    auto it = gelu_.find(n);
    if (it != gelu_.end()) return it->second;
    try {
        memory::desc md({n}, memory::data_type::f32, memory::format_tag::a);
        dnnl::eltwise_forward::desc fd(prop_kind::forward_training, algorithm::eltwise_gelu_erf,
                                       md, 0.0f, 0.0f);
        dnnl::eltwise_forward::primitive_desc fpd(fd, engine_);
        dnnl::eltwise_backward::desc bd(algorithm::eltwise_gelu_erf, md, md, 0.0f, 0.0f);
        dnnl::eltwise_backward::primitive_desc bpd(bd, engine_, fpd);
        if (gelu_.size() >= kMaxCached) gelu_.clear();
        return gelu_.emplace(n, Gelu{dnnl::eltwise_forward(fpd), dnnl::eltwise_backward(bpd), md})
            .first->second;
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "creating the gelu_erf eltwise primitives for " + std::to_string(n) +
                            " elements");
    }
}

void ActivationPrimitives::gelu_fwd(const float* x, float* y, int64_t n) {
    if (n == 0) return;
    const SerialIfSmall threads(!worth_parallel(n));
    Gelu& g = gelu(n);
    try {
        memory mx(g.md, engine_, const_cast<float*>(x)), my(g.md, engine_, y);
        g.fwd.execute(stream_, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}});
        stream_.wait();
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "executing gelu_erf forward");
    }
}

void ActivationPrimitives::gelu_bwd(const float* dy, const float* x, float* dx, int64_t n) {
    if (n == 0) return;
    const SerialIfSmall threads(!worth_parallel(n));
    Gelu& g = gelu(n);
    try {
        memory mdy(g.md, engine_, const_cast<float*>(dy)), mx(g.md, engine_, const_cast<float*>(x)),
            mdx(g.md, engine_, dx);
        g.bwd.execute(stream_, {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DIFF_DST, mdy}, {DNNL_ARG_DIFF_SRC, mdx}});
        stream_.wait();
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "executing gelu_erf backward");
    }
}

void ActivationPrimitives::softmax_fwd(const float* src, float* y, int64_t rows, int64_t cols) {
    if (rows == 0 || cols == 0) return;
    const SerialIfSmall threads(!worth_parallel(rows * cols));
    auto key = std::make_pair(rows, cols);
    auto it = softmax_.find(key);
    try {
        if (it == softmax_.end()) {
            memory::desc md({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
            dnnl::softmax_forward::desc d(prop_kind::forward_inference, md, 1);
            dnnl::softmax_forward::primitive_desc pd(d, engine_);
            if (softmax_.size() >= kMaxCached) softmax_.clear();
            it = softmax_.emplace(key, Softmax{dnnl::softmax_forward(pd), md}).first;
        }
        memory ms(it->second.md, engine_, const_cast<float*>(src)), my(it->second.md, engine_, y);
        it->second.fwd.execute(stream_, {{DNNL_ARG_SRC, ms}, {DNNL_ARG_DST, my}});
        stream_.wait();
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "softmax over [" + std::to_string(rows) + "," + std::to_string(cols) + "]");
    }
}

}  // namespace vitedit::onednn
