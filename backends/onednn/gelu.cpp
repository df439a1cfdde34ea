// Exact GELU kernels (see gelu.hpp): Φ(x) and φ(x) from one exp, in loops GCC vectorises.
#include "gelu.hpp"

#include <cmath>
#include <cstring>

#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// exp(u) for u in [-87, 0] (normal results only): u = n ln2 + r, |r| <= ln2/2, exp(r) by its
// Taylor series to r^7 (truncation < 6e-9 relative), 2^n put into the exponent bits.
inline float exp_nonpositive(float u) {
    u = u < -87.0f ? -87.0f : u;
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float fn = (u * 1.44269504088896341f + shifter) - shifter;
    float r = std::fma(fn, -0.693145752f, u);  // ln2 in two parts: fn * hi is exact
    r = std::fma(fn, -1.42860677e-06f, r);
    float p = 1.0f / 5040;
    p = std::fma(p, r, 1.0f / 720);
    p = std::fma(p, r, 1.0f / 120);
    p = std::fma(p, r, 1.0f / 24);
    p = std::fma(p, r, 1.0f / 6);
    p = std::fma(p, r, 0.5f);
    p = std::fma(p, r, 1.0f);
    p = std::fma(p, r, 1.0f);
    const int32_t bits = (static_cast<int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Φ(x) and g = exp(-x²/2) (φ(x) = g / √(2π)).
//   Φ(-|x|) = ½ erfc(z), z = |x|/√2, and erfc(z) = t e^{-z²} Q(t), t = 1 / (1 + z/2), with Q a
//   degree-9 polynomial fitted (least squares in relative error, on 6000 Chebyshev nodes of
//   z ∈ [0, 9.5]) to erfc(z) e^{z²} / t; its fit error is 2e-8 relative. x² is split exactly
//   (s + e, e by an FMA) so e^{-x²/2} loses nothing to the rounding of x² where it is tiny.
inline void normal(float x, float& cdf, float& g) {
    const float s = x * x;
    const float e = std::fma(x, x, -s);
    g = exp_nonpositive(-0.5f * s) * std::fma(-0.5f, e, 1.0f);
    const float z = std::fabs(x) * 0.707106781186547524f;
    const float t = 1.0f / std::fma(0.5f, z, 1.0f);
    float q = 0.015109749124302732f;
    q = std::fma(q, t, -0.1380565352513152f);
    q = std::fma(q, t, 0.46234813508518235f);
    q = std::fma(q, t, -0.71259660036029437f);
    q = std::fma(q, t, 0.4549037519506981f);
    q = std::fma(q, t, -0.11535026853026455f);
    q = std::fma(q, t, 0.23105798242514219f);
    q = std::fma(q, t, 0.23754605308108431f);
    q = std::fma(q, t, 0.2829789540845743f);
    q = std::fma(q, t, 0.28205876468638291f);
    const float tail = 0.5f * t * g * q;  // Φ(-|x|)
    const float upper = 1.0f - tail;  // both sides computed: a select, not a branch, vectorises
    cdf = x < 0.0f ? tail : upper;
}

constexpr float kInvSqrt2Pi = 0.398942280401432678f;

}  // namespace

VE_SIMD_CLONES void gelu_fwd_span(const float* x, float* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        float cdf, g;
        normal(x[i], cdf, g);
        y[i] = x[i] * cdf;
    }
}

VE_SIMD_CLONES void gelu_bwd_span(const float* dy, const float* x, float* dx, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        float cdf, g;
        normal(x[i], cdf, g);
        dx[i] = dy[i] * std::fma(x[i] * kInvSqrt2Pi, g, cdf);
    }
}

}  // namespace vitedit::onednn
