#include "cuda_errors.hpp"

#include <stdexcept>

#include "vitedit/backend_author.hpp"

namespace vitedit::cuda {

std::string error_text(cudaError_t e) {
    const char* name = cudaGetErrorName(e);
    const char* text = cudaGetErrorString(e);
    return std::string(name ? name : "cudaError?") + ": " + (text ? text : "unknown error");
}

namespace {

// Errors after which the context is corrupt: every later CUDA call fails the same way.
bool sticky(cudaError_t e) {
    switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
        return true;
    default:
        return false;
    }
}

}  // namespace

void throw_cuda(cudaError_t e, const std::string& what) {
    std::string msg = what + ": " + error_text(e);
    if (sticky(e)) {
        msg += " (the CUDA context is unusable from here on; the error may come from an earlier "
               "asynchronous op on this stream)";
    } else {
        (void)cudaGetLastError();  // reset the non-sticky error
    }
    if (e == cudaErrorMemoryAllocation) msg += " (out of device memory)";
    throw std::runtime_error(msg);
}

void check_cublas(cublasStatus_t s, const std::string& what) {
    if (s == CUBLAS_STATUS_SUCCESS) return;
    std::string msg = what + ": " + cublasGetStatusName(s) + ": " + cublasGetStatusString(s);
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) throw author::Unsupported(msg);
    throw std::runtime_error(msg);
}

}  // namespace vitedit::cuda
