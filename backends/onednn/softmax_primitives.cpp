#include "softmax_primitives.hpp"

#include <string>

#include "dnnl_errors.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

using dnnl::memory;
using dnnl::prop_kind;

namespace {
constexpr size_t kMaxCached = 256;
}

SoftmaxPrimitives::SoftmaxPrimitives(const dnnl::engine& engine, dnnl::stream& stream)
    : engine_(engine), stream_(stream) {}

void SoftmaxPrimitives::softmax_fwd(const float* src, float* y, int64_t rows, int64_t cols) {
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
