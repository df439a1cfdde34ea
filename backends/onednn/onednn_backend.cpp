// The backend's lifetime, configuration, memory, probe and the exported vitedit_query().
#include "onednn_backend.hpp"

#include <cstring>
#include <sstream>

#include <dnnl_version.h>

#include "dnnl_errors.hpp"
#include "vitedit/backend_config.hpp"
#include "vitedit/host_api.h"

namespace vitedit::onednn {

OnednnBackend::OnednnBackend(const ve_host_api* host, const char* config) : host_(host) {
    configure(config);
    try {
        engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
        stream_ = dnnl::stream(engine_);
    } catch (const dnnl::error& e) {
        throw author::Unavailable(std::string("cannot create the oneDNN CPU engine: ") + e.what());
    }
    if (gemm_settings_.bf16) require_bf16_matmul();
    if (packed_budget_mb_ > 0) packed_ = std::make_unique<PackedWeights>(packed_budget_mb_ << 20);
    gemm_settings_.packed = packed_.get();
    gemm_ = std::make_unique<GemmPlanner>(engine_, stream_, gemm_settings_);
    softmax_prims_ = std::make_unique<SoftmaxPrimitives>(engine_, stream_);
    const dnnl_version_t* v = dnnl_version();
    std::ostringstream msg;
    msg << "onednn backend: oneDNN " << v->major << "." << v->minor << "." << v->patch
        << " (" << v->hash << ")";
    log(VE_LOG_DEBUG, msg.str());
}

OnednnBackend::~OnednnBackend() = default;

// oneDNN implements bf16 matmul only on CPUs with AVX-512 (native BF16/AMX, or emulated on
// AVX-512 cores); elsewhere every GEMM would fail at its first call. Refuse the precision at
// create, with the reason, instead.
void OnednnBackend::require_bf16_matmul() const {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    try {
        const dnnl::memory::desc a({16, 16}, dt::bf16, tag::ab), b({16, 16}, dt::bf16, tag::ab), c({16, 16}, dt::f32, tag::ab);
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), engine_);
    } catch (const dnnl::error& e) {
        throw author::Unavailable(std::string("precision bf16 is not available on this CPU: oneDNN has no bf16 matmul for it "
                                              "(it needs AVX-512); use precision f32 (") + e.what() + ")");
    }
}

void OnednnBackend::log(int level, const std::string& message) const {
    if (host_ && host_->log) host_->log(host_->host, level, message.c_str());
}

// config: "key=value,..."; known keys: max_gemm_plans=N (GEMM plan cache size, default 512),
// precision=f32|bf16 (bf16: GEMM operands in bf16, f32 accumulation, output and weights),
// weight_cache_mb=N (packed copies of unchanged GEMM weights, default 1024; 0: none),
// weight_cache_min=N (smallest weight, in elements, worth packing; default 65536),
// pack_first_read=0|1 (pack a wide row-major weight already on its first read; default 1),
// gemm_serial_below=N (multiply-adds below which a GEMM whose operands fit in 2 MiB runs on the calling thread; default 2^22, 0: never).
void OnednnBackend::configure(const char* config) {
    using author::config_integer;
    author::for_each_config_item(config, [&](const std::string& key, const std::string& value) {
        if (key == "max_gemm_plans") {
            gemm_settings_.max_plans = static_cast<size_t>(config_integer("onednn", key, value, 1, 1ll << 30, "a plan count"));
        } else if (key == "weight_cache_mb") {
            packed_budget_mb_ = static_cast<size_t>(config_integer("onednn", key, value, 0, 1ll << 30, "a size in MiB"));
        } else if (key == "weight_cache_min") {
            gemm_settings_.min_packed = config_integer("onednn", key, value, 1, 1ll << 40, "an element count");
        } else if (key == "pack_first_read") {
            gemm_settings_.pack_first_read = config_integer("onednn", key, value, 0, 1, "0 or 1") == 1;
        } else if (key == "gemm_serial_below") {
            gemm_settings_.serial_below = config_integer("onednn", key, value, 0, 1ll << 50, "a multiply-add count");
        } else if (key == "precision") {
            if (value != "f32" && value != "bf16")
                throw std::invalid_argument("onednn backend: precision must be f32 or bf16, got '" + value + "'");
            gemm_settings_.bf16 = value == "bf16";
        } else {
            log(VE_LOG_WARN, "onednn backend: ignoring unknown config key '" + key +
                                 "' (known: max_gemm_plans, weight_cache_mb, weight_cache_min, pack_first_read, gemm_serial_below, precision)");
        }
    });
}

ve_buffer OnednnBackend::alloc(uint64_t bytes) { return buffers_.alloc(bytes); }

void OnednnBackend::free(ve_buffer b) {
    if (packed_ && b) {
        try {
            const auto lo = reinterpret_cast<uintptr_t>(b);
            packed_->written(lo, lo + buffers_.size_of(b, "free"));
        } catch (const author::Invalid&) {
            // not ours: BufferRegistry::free ignores it too
        }
    }
    buffers_.free(b);
}

View OnednnBackend::out(const ve_tensor& t, const char* name) {
    View v = view(t, name);
    if (packed_ && v.numel > 0) {
        int64_t last = 0;
        for (int i = 0; i < v.nd; ++i) last += (v.shape[i] - 1) * v.stride[i];
        const auto lo = reinterpret_cast<uintptr_t>(v.data);
        packed_->written(lo, lo + static_cast<uintptr_t>(last + 1) * sizeof(float));
    }
    return v;
}

void OnednnBackend::upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) {
    if (bytes == 0) return;
    if (!src) fail("upload: source pointer is NULL");
    unsigned char* p = buffers_.range(dst, off, bytes, "upload destination");
    if (packed_) packed_->written(reinterpret_cast<uintptr_t>(p), reinterpret_cast<uintptr_t>(p) + bytes);
    std::memcpy(p, src, bytes);
}

void OnednnBackend::download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) {
    if (bytes == 0) return;
    if (!dst) fail("download: destination pointer is NULL");
    std::memcpy(dst, buffers_.range(src, off, bytes, "download source"), bytes);
}

void OnednnBackend::synchronize() {
    try {
        stream_.wait();
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "waiting for the stream");
    }
}

void OnednnBackend::gemm(bool trans_a, bool trans_b, float alpha, const ve_tensor& a,
                         const ve_tensor& b, float beta, const ve_tensor& c) {
    gemm_->run(trans_a, trans_b, alpha, view(a, "a"), view(b, "b"), beta, out(c, "c"));
}

void OnednnBackend::linear_fwd(const ve_tensor& x_t, const ve_tensor& w_t, const ve_tensor* bias_t, int act,
                               const ve_tensor& y_t) {
    View x = view(x_t, "x"), w = view(w_t, "w"), y = out(y_t, "y");
    const View bias = bias_t ? view(bias_t, "bias") : View{};
    require_linear(x, w, bias_t ? &bias : nullptr, act, y);
    Epilogue ep;
    ep.bias = bias_t ? bias.data : nullptr;
    ep.gelu = act == VE_ACT_GELU;
    if (y.shape[1] > 1 && x.shape[1] > 0) return gemm_->run(false, true, 1.0f, x, w, 0.0f, y, ep);
    // One output column, or an empty sum: no fused kernel to gain from (and oneDNN would see a
    // column-major output or K = 0); the three steps in turn.
    gemm_->run(false, true, 1.0f, x, w, 0.0f, y);
    if (bias_t) bias_add(y_t, *bias_t);
    if (ep.gelu) gelu_fwd(y_t, y_t);
}

// Can this backend run here? oneDNN runs on any x86-64, but its fast f32 kernels (and this
// backend's expectations of speed) start at AVX2 with FMA.
static int32_t probe(std::string& reason) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        reason = "the CPU lacks AVX2/FMA, which the oneDNN backend requires";
        return 0;
    }
    const dnnl_version_t* v = dnnl_version();
    if (v->major != DNNL_VERSION_MAJOR) {
        reason = "the oneDNN runtime (" + std::to_string(v->major) + "." +
                 std::to_string(v->minor) + ") does not match the headers built against (" +
                 std::to_string(DNNL_VERSION_MAJOR) + ".x)";
        return 0;
    }
    bool avx512 = __builtin_cpu_supports("avx512f");
    reason = std::string("oneDNN ") + std::to_string(v->major) + "." + std::to_string(v->minor) +
             " on the CPU (" + (avx512 ? "AVX-512" : "AVX2") + ")";
    return avx512 ? 100 : 80;
#else
    reason = "the oneDNN backend is built for x86-64 only";
    return 0;
#endif
}

}  // namespace vitedit::onednn

using OnednnBackendImpl = vitedit::onednn::OnednnBackend;
VITEDIT_DEFINE_BACKEND(OnednnBackendImpl, "onednn", "oneDNN 2.6 CPU backend", "0.1.0",
                       vitedit::onednn::probe)
