// vitedit backend conformance suite — helper implementations.
#include "conformance.hpp"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace conf {

void seed(uint64_t s) { torch::manual_seed(s); }

torch::Tensor randn(at::IntArrayRef shape, double scale) {
    return (torch::randn(shape, torch::kFloat32) * static_cast<float>(scale)).to(torch::kFloat64);
}

torch::Tensor rand(at::IntArrayRef shape, double lo, double hi) {
    return (torch::rand(shape, torch::kFloat32) * static_cast<float>(hi - lo) + static_cast<float>(lo))
        .to(torch::kFloat64);
}

torch::Tensor to_f32_f64(const torch::Tensor& t) { return t.detach().to(torch::kFloat32).to(torch::kFloat64); }

torch::Tensor nan_like(const torch::Tensor& t) {
    return torch::full_like(t, std::numeric_limits<double>::quiet_NaN());
}

Tensor up(const torch::Tensor& t) {
    torch::Tensor f = t.detach().to(torch::kFloat32).contiguous();
    vitedit::Shape shape(f.sizes().begin(), f.sizes().end());
    if (shape.empty()) shape = {1};
    return be().from_host(shape, f.data_ptr<float>());
}

Tensor nan_tensor(const vitedit::Shape& shape) {
    std::vector<float> v(static_cast<size_t>(vitedit::shape_numel(shape)), std::numeric_limits<float>::quiet_NaN());
    return be().from_host(shape, v);
}

torch::Tensor down(const Tensor& t) {
    std::vector<float> v = t.download();
    std::vector<int64_t> shape = t.shape();
    return torch::from_blob(v.data(), shape, torch::kFloat32).to(torch::kFloat64);
}

std::string shape_of(const torch::Tensor& t) {
    std::ostringstream o;
    o << "[";
    for (int64_t i = 0; i < t.dim(); ++i) o << (i ? "," : "") << t.size(i);
    o << "]";
    return o.str();
}

static std::string index_str(int64_t flat, at::IntArrayRef sizes) {
    std::vector<int64_t> idx(sizes.size());
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
        idx[d] = sizes[d] ? flat % sizes[d] : 0;
        flat = sizes[d] ? flat / sizes[d] : 0;
    }
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < idx.size(); ++i) o << (i ? "," : "") << idx[i];
    o << "]";
    return o.str();
}

void require_close_tol(const torch::Tensor& actual_in, const torch::Tensor& expected_in,
                       const torch::Tensor& tol_in, const std::string& what, const std::string& how) {
    const std::string who = be().name() + ": " + what;
    if (actual_in.sizes() != expected_in.sizes()) {
        FAIL_CHECK(who << ": shape " << shape_of(actual_in) << " != expected " << shape_of(expected_in));
        return;
    }
    torch::Tensor a = actual_in.detach().to(torch::kFloat64).contiguous().reshape(-1);
    torch::Tensor e = expected_in.detach().to(torch::kFloat64).contiguous().reshape(-1);
    torch::Tensor tol = tol_in.detach().to(torch::kFloat64).expand_as(expected_in).contiguous().reshape(-1);
    // Non-finite handling: where expected is finite, a NaN/inf result is an infinite error;
    // where expected is not finite (never in these tests) the result must equal it.
    const torch::Tensor inf = torch::full_like(e, std::numeric_limits<double>::infinity());
    torch::Tensor err = torch::where(torch::isfinite(e),
                                     torch::where(torch::isfinite(a), (a - e).abs(), inf),
                                     torch::where(a == e, torch::zeros_like(e), inf));
    torch::Tensor bad = err > tol;
    const int64_t nbad = bad.sum().item<int64_t>();
    const int64_t n = e.numel();
    int64_t worst = n ? err.argmax().item<int64_t>() : 0;
    const double max_err = n ? err[worst].item<double>() : 0.0;
    if (std::getenv("VITEDIT_CONF_VERBOSE")) {
        // ratio of error to allowance: how much headroom each tolerance leaves
        torch::Tensor ratio = err / tol.clamp_min(1e-300);
        std::printf("%-4s %-70s max|err| %.3e  max err/allowed %.3e  (%s)\n", nbad ? "FAIL" : "ok",
                    who.c_str(), max_err, n ? ratio.max().item<double>() : 0.0, how.c_str());
    }
    if (nbad == 0) {
        SUCCEED();
        return;
    }
    // report the element that exceeds its allowance the most
    torch::Tensor excess = torch::where(bad, err - tol, torch::full_like(err, -1.0));
    int64_t w = excess.argmax().item<int64_t>();
    std::ostringstream o;
    o.precision(9);
    o << who << ": " << nbad << " of " << n << " elements out of tolerance (" << how << "), shape "
      << shape_of(expected_in) << "; worst at " << index_str(w, expected_in.sizes()) << ": got "
      << a[w].item<double>() << ", expected " << e[w].item<double>() << ", |err| " << err[w].item<double>()
      << " > allowed " << tol[w].item<double>() << "; max |err| overall " << max_err << " at "
      << index_str(worst, expected_in.sizes());
    FAIL_CHECK(o.str());
}

void require_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol, double rtol,
                   const std::string& what) {
    torch::Tensor e = expected.detach().to(torch::kFloat64);
    std::ostringstream how;
    how << "atol " << atol << ", rtol " << rtol;
    require_close_tol(actual, expected, atol + rtol * torch::where(torch::isfinite(e), e.abs(), torch::zeros_like(e)),
                      what, how.str());
}

void require_equal(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
    require_close_tol(actual, expected, torch::zeros_like(expected, torch::kFloat64), what, "bit-exact");
}

torch::Tensor dot_tol(const torch::Tensor& expected, const torch::Tensor& abs_scale, int64_t K) {
    const double k = static_cast<double>(std::max<int64_t>(K, 1));
    return 1e-5 * expected.detach().abs() + 4.0 * std::sqrt(k) * kU * abs_scale.detach() + 1e-30;
}

}  // namespace conf
