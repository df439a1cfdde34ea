#include "tensor_view.hpp"

#include "device_memory.hpp"
#include "vitedit/backend_author.hpp"

namespace vitedit::cuda {

using author::Invalid;
using author::Unsupported;

bool View::contiguous() const {
    int64_t expect = 1;
    for (int i = nd - 1; i >= 0; --i) {
        if (shape[i] != 1 && stride[i] != expect) return false;
        expect *= shape[i];
    }
    return true;
}

static std::string list(const int64_t* v, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

std::string describe(const View& v) {
    return std::string(v.name) + " " + list(v.shape, v.nd) + " strides " + list(v.stride, v.nd);
}

void fail(const std::string& message) { throw Invalid(message); }

View make_view(const DeviceMemory& memory, const ve_tensor* t, const char* name) {
    if (!t) fail(std::string(name) + " is NULL");
    View v;
    v.name = name;
    if (t->dtype == VE_BF16 || t->dtype == VE_I32)
        throw Unsupported(std::string(name) + ": dtype " + (t->dtype == VE_BF16 ? "BF16" : "I32") +
                          " (this backend computes in F32 only)");
    if (t->dtype != VE_F32) fail(std::string(name) + ": unknown dtype " + std::to_string(t->dtype));
    if (t->ndim < 1 || t->ndim > VE_MAX_DIMS)
        fail(std::string(name) + ": ndim " + std::to_string(t->ndim) + " outside 1..4");
    v.nd = t->ndim;
    v.numel = 1;
    for (int i = 0; i < v.nd; ++i) {
        v.shape[i] = t->shape[i];
        v.stride[i] = t->stride[i];
    }
    for (int i = 0; i < v.nd; ++i) {
        if (v.shape[i] < 0 || v.stride[i] < 0) fail(describe(v) + ": negative shape or stride");
        if (v.shape[i] > 0 && v.numel > INT64_MAX / v.shape[i]) fail(describe(v) + ": too large");
        v.numel *= v.shape[i];
    }
    if (t->offset % sizeof(float) != 0)
        fail(describe(v) + ": byte offset " + std::to_string(t->offset) + " is not a multiple of 4");
    // Highest element addressed, checked against the allocation (also when empty: the offset).
    uint64_t span = 0;
    if (v.numel > 0) {
        span = 1;
        for (int i = 0; i < v.nd; ++i) {
            uint64_t reach = static_cast<uint64_t>(v.shape[i] - 1) * static_cast<uint64_t>(v.stride[i]);
            if (v.stride[i] != 0 && reach / static_cast<uint64_t>(v.stride[i]) !=
                                        static_cast<uint64_t>(v.shape[i] - 1))
                fail(describe(v) + ": extent overflows");
            span += reach;
        }
    }
    if (span > UINT64_MAX / sizeof(float)) fail(describe(v) + ": extent overflows");
    unsigned char* base = memory.range(t->buffer, t->offset, span * sizeof(float), name);
    v.data = reinterpret_cast<float*>(base);
    return v;
}

void require_contiguous(const View& v) {
    if (!v.contiguous()) fail(describe(v) + " must be contiguous (row-major dense)");
}

void require_ndim(const View& v, int lo, int hi) {
    if (v.nd < lo || v.nd > hi)
        fail(describe(v) + ": expected " +
             (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) + " dims");
}

void require_same_shape(const View& a, const View& b) {
    bool same = a.nd == b.nd;
    for (int i = 0; same && i < a.nd; ++i) same = a.shape[i] == b.shape[i];
    if (!same) fail("shape mismatch: " + describe(a) + " vs " + describe(b));
}

void require_vector(const View& v, int64_t n, const char* meaning) {
    if (v.numel != n)
        fail(describe(v) + ": expected " + std::to_string(n) + " elements (" + meaning + ")");
    require_contiguous(v);
}

void require_no_zero_stride(const View& v, const char* role) {
    for (int i = 0; i < v.nd; ++i)
        if (v.shape[i] > 1 && v.stride[i] == 0)
            fail(describe(v) + ": the " + role + " has a zero stride (elements overlap)");
}

}  // namespace vitedit::cuda
