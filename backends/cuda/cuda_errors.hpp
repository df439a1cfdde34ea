// CUDA runtime and cuBLAS status codes turned into the backend's exceptions, with messages that
// say what was being done and what CUDA answered ("cudaErrorIllegalAddress: an illegal memory
// access was encountered").
#pragma once

#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace vitedit::cuda {

// "cudaErrorX: description".
std::string error_text(cudaError_t e);

// Throws std::runtime_error "<what>: cudaErrorX: description" (plus a note when the error is
// sticky and the CUDA context is now unusable). Clears a non-sticky error so the next call is
// not blamed for it.
[[noreturn]] void throw_cuda(cudaError_t e, const std::string& what);

inline void check_cuda(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw_cuda(e, what);
}
inline void check_cuda(cudaError_t e, const std::string& what) {
    if (e != cudaSuccess) throw_cuda(e, what);
}

// cuBLAS: CUBLAS_STATUS_NOT_SUPPORTED becomes author::Unsupported, anything else a runtime_error.
void check_cublas(cublasStatus_t s, const std::string& what);

}  // namespace vitedit::cuda
