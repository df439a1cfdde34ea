// vitedit backend conformance suite — shared helpers.
//
// Every test runs an op on the backend under test (picked with --backend NAME, see main.cpp) and
// compares it with LibTorch on the same inputs. Inputs are drawn as float32 (what the backend
// sees) and the reference is computed in float64 from exactly those values, with autograd for
// every gradient; so the reference error is negligible and each tolerance below is a budget for
// the backend's own float32 rounding only.
#pragma once

// LibTorch first: Debian's LibTorch is built with glog, whose CHECK macro clashes with Catch's.
// Torch's inline code has been parsed by the time we drop glog's CHECK and let Catch define it.
// (These four headers, not <torch/torch.h>, are also the target's precompiled header.)
#include <torch/types.h>
#include <torch/utils.h>
#include <torch/nn/functional.h>
#include <torch/optim.h>
#undef CHECK
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "vitedit/backend.hpp"

namespace conf {

using vitedit::Tensor;

// The backend under test (created once by main.cpp).
vitedit::Backend& be();

// float32 unit roundoff, 2^-24: the relative error of one correctly rounded float32 operation.
constexpr double kU = 5.9604644775390625e-08;

// Seeds LibTorch's generator: each TEST_CASE seeds itself so results do not depend on order.
void seed(uint64_t s);
// N(0, scale^2) values rounded to float32, returned as float64 (exactly what the backend gets).
torch::Tensor randn(at::IntArrayRef shape, double scale = 1.0);
// U(lo, hi) values rounded to float32, returned as float64.
torch::Tensor rand(at::IntArrayRef shape, double lo, double hi);

// Host <-> backend. up() rounds to float32 and uploads a contiguous copy; down() downloads a
// contiguous tensor into a float64 torch tensor of the same shape.
Tensor up(const torch::Tensor& t);
Tensor nan_tensor(const vitedit::Shape& shape);  // filled with NaN: proves beta = 0 overwrites
torch::Tensor down(const Tensor& t);
torch::Tensor to_f32_f64(const torch::Tensor& t);  // round a float64 tensor to float32 values
torch::Tensor nan_like(const torch::Tensor& t);

// |actual - expected| <= atol + rtol * |expected| everywhere, and actual finite where expected
// is. On failure it reports (as a failed CHECK, the test goes on) the op, the backend, the worst
// element's index, both values, its error and its allowance, and how many elements failed. With
// the environment variable VITEDIT_CONF_VERBOSE set it prints every check's max error.
void require_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                   double rtol, const std::string& what);
// The same with a per-element allowance tensor (tol, shaped like expected); `how` says how it
// was derived, for the failure message.
void require_close_tol(const torch::Tensor& actual, const torch::Tensor& expected,
                       const torch::Tensor& tol, const std::string& what, const std::string& how);
// Bit-exact (data movement, single correctly rounded operations).
void require_equal(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what);

// Allowance for a length-K float32 dot product / sum: the probabilistic error bound
// sqrt(K) * u * sum_k |term_k| (rounding errors of a sum grow like a random walk; a blocked or
// pairwise sum does better, a naive one is still inside it), with 4x headroom, plus 1e-5 relative
// for the final scaling/accumulation roundings. `abs_scale` is sum_k |term_k| per element (e.g.
// |alpha|·|op(a)|·|op(b)| + |beta|·|c0| for gemm), computed in float64 from the same inputs.
torch::Tensor dot_tol(const torch::Tensor& expected, const torch::Tensor& abs_scale, int64_t K);

std::string shape_of(const torch::Tensor& t);

}  // namespace conf
