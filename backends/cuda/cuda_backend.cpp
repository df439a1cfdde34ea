// The backend's lifetime, configuration, memory entry points, probe and the exported
// vitedit_query().
#include "cuda_backend.hpp"

#include "vitedit/backend_config.hpp"

#include <cstdlib>
#include <sstream>
#include <vector>

#include "cuda_errors.hpp"
#include "vitedit/host_api.h"

namespace vitedit::cuda {

namespace {

constexpr int kMinMajor = 8;  // sm_80: the oldest architecture this library carries code for

std::string version_text(int v) {
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

struct DeviceInfo {
    int index = -1;
    std::string name;
    int major = 0, minor = 0;
    size_t memory = 0;
};

std::string describe_device(const DeviceInfo& d) {
    std::ostringstream s;
    s << "device " << d.index << " " << d.name << " (sm_" << d.major << d.minor << ", "
      << (d.memory >> 30) << " GiB)";
    return s.str();
}

// Everything the probe and create need to know, without creating a context. Returns an empty
// vector and a reason when CUDA cannot run here.
std::vector<DeviceInfo> list_devices(std::string& reason, int& driver) {
    driver = 0;
    if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        if (driver == 0)
            reason = "no CUDA driver found (" + error_text(e) + ")";
        else if (e == cudaErrorInsufficientDriver)
            reason = "the CUDA driver (" + version_text(driver) + ") is older than the CUDA runtime this "
                     "backend was built with (" + version_text(CUDART_VERSION) + "): " + error_text(e);
        else if (e == cudaErrorNoDevice)
            reason = "no CUDA device (" + error_text(e) + "; driver " + version_text(driver) + ")";
        else
            reason = "CUDA is not usable here (" + error_text(e) + "; driver " + version_text(driver) + ")";
        return {};
    }
    if (count <= 0) {
        reason = "no CUDA device (driver " + version_text(driver) + " sees none)";
        return {};
    }
    std::vector<DeviceInfo> out;
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
            (void)cudaGetLastError();
            continue;
        }
        DeviceInfo d;
        d.index = i;
        d.name = p.name;
        d.major = p.major;
        d.minor = p.minor;
        d.memory = p.totalGlobalMem;
        out.push_back(d);
    }
    if (out.empty()) reason = "no CUDA device could be queried (driver " + version_text(driver) + ")";
    return out;
}

// The first device of compute capability >= 8.0, or -1 with a reason listing what was found.
int first_usable(const std::vector<DeviceInfo>& devices, std::string& reason) {
    std::string found;
    for (size_t i = 0; i < devices.size(); ++i) {
        if (devices[i].major >= kMinMajor) return static_cast<int>(i);
        found += (found.empty() ? "" : ", ") + describe_device(devices[i]);
    }
    reason = "no CUDA device of compute capability >= " + std::to_string(kMinMajor) +
             ".0 (this backend is built for sm_80 and sm_90); found " + found;
    return -1;
}

}  // namespace

CudaBackend::CudaBackend(const ve_host_api* host, const char* config) : host_(host) {
    device_ = -1;
    configure(config);
    std::string why;
    int driver = 0;
    const std::vector<DeviceInfo> devices = list_devices(why, driver);
    if (devices.empty()) throw author::Unavailable(why);
    const DeviceInfo* chosen = nullptr;
    if (device_ < 0) {
        int i = first_usable(devices, why);
        if (i < 0) throw author::Unavailable(why);
        chosen = &devices[static_cast<size_t>(i)];
    } else {
        for (const auto& d : devices)
            if (d.index == device_) chosen = &d;
        if (!chosen)
            throw author::Unavailable("device=" + std::to_string(device_) + ": there are only " +
                                      std::to_string(devices.size()) + " CUDA devices");
        if (chosen->major < kMinMajor)
            throw author::Unavailable(describe_device(*chosen) + " has compute capability " +
                                      std::to_string(chosen->major) + "." + std::to_string(chosen->minor) +
                                      "; this backend needs >= " + std::to_string(kMinMajor) + ".0");
    }
    device_ = chosen->index;
    try {
        cudaError_t e = cudaSetDevice(device_);
        if (e != cudaSuccess) throw author::Unavailable("cannot use " + describe_device(*chosen) + ": " + error_text(e));
        e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
        if (e != cudaSuccess)
            throw author::Unavailable("cannot create a stream on " + describe_device(*chosen) + ": " + error_text(e));
        cublasStatus_t s = cublasCreate(&blas_);
        if (s != CUBLAS_STATUS_SUCCESS)
            throw author::Unavailable(std::string("cannot initialize cuBLAS: ") + cublasGetStatusName(s) + ": " +
                                      cublasGetStatusString(s));
        check_cublas(cublasSetStream(blas_, stream_), "binding cuBLAS to the stream");
        // Strict FP32: DEFAULT_MATH never uses TF32 or other reduced-precision tensor-core paths
        // for Sgemm; PEDANTIC additionally fixes the algorithm choice to the standard one.
        check_cublas(cublasSetMathMode(blas_, pedantic_ ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH),
                     "setting the cuBLAS math mode");
        check_cublas(cublasSetPointerMode(blas_, CUBLAS_POINTER_MODE_HOST), "setting the cuBLAS pointer mode");
        memory_ = std::make_unique<DeviceMemory>(device_, stream_);
    } catch (...) {
        if (blas_) cublasDestroy(blas_);
        if (stream_) cudaStreamDestroy(stream_);
        (void)cudaGetLastError();
        throw;
    }
    int blas_version = 0;
    (void)cublasGetVersion(blas_, &blas_version);
    std::ostringstream msg;
    msg << "cuda backend: " << describe_device(*chosen) << ", driver " << version_text(driver)
        << ", runtime " << version_text(CUDART_VERSION) << ", cuBLAS " << blas_version << " ("
        << (pedantic_ ? "pedantic" : "default") << " FP32 math), "
        << (memory_->pooled() ? "stream-ordered memory pool" : "cudaMalloc (no memory pools)");
    log(VE_LOG_DEBUG, msg.str());
}

CudaBackend::~CudaBackend() {
    if (cudaSetDevice(device_) != cudaSuccess) (void)cudaGetLastError();
    if (stream_) (void)cudaStreamSynchronize(stream_);
    if (memory_ && index_buffer_) memory_->free(index_buffer_);
    memory_.reset();
    if (blas_) cublasDestroy(blas_);
    if (stream_) (void)cudaStreamDestroy(stream_);
    (void)cudaGetLastError();
}

void CudaBackend::log(int level, const std::string& message) const {
    if (host_ && host_->log) host_->log(host_->host, level, message.c_str());
}

// config: "key=value,..."; known keys: device=N (default: the first device of compute
// capability >= 8.0), math=default|pedantic (cuBLAS math mode; both are strict FP32).
void CudaBackend::configure(const char* config) {
    author::for_each_config_item(config, [&](const std::string& key, const std::string& value) {
        if (key == "device") {
            device_ = static_cast<int>(author::config_integer("cuda", key, value, 0, 1024, "a device index"));
        } else if (key == "math") {
            if (value != "default" && value != "pedantic")
                throw std::invalid_argument("cuda backend: math must be 'default' or 'pedantic', got '" + value + "'");
            pedantic_ = value == "pedantic";
        } else {
            log(VE_LOG_WARN, "cuda backend: ignoring unknown config key '" + key + "' (known: device, math)");
        }
    });
}

void CudaBackend::activate() const {
    const cudaError_t e = cudaSetDevice(device_);
    if (e != cudaSuccess) throw_cuda(e, "selecting CUDA device " + std::to_string(device_));
}

void CudaBackend::launched(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw_cuda(e, std::string("launching ") + what);
}

void CudaBackend::wait(const char* what) {
    const cudaError_t e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess) throw_cuda(e, std::string(what) + ": waiting for the stream");
}

ve_buffer CudaBackend::alloc(uint64_t bytes) { return memory_->alloc(bytes); }

void CudaBackend::free(ve_buffer b) { memory_->free(b); }

void CudaBackend::upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) {
    memory_->upload(dst, off, src, bytes);
}

void CudaBackend::download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) {
    memory_->download(src, off, dst, bytes);
}

void CudaBackend::synchronize() {
    activate();
    wait("synchronize");
}

// Can this backend run here? Needs the CUDA driver, a device, and compute capability >= 8.0.
// Creates no context and keeps no device state.
static int32_t probe(std::string& reason) {
    int driver = 0;
    const std::vector<DeviceInfo> devices = list_devices(reason, driver);
    if (devices.empty()) return 0;
    const int i = first_usable(devices, reason);
    if (i < 0) return 0;
    const DeviceInfo& d = devices[static_cast<size_t>(i)];
    reason = describe_device(d) + ", driver " + version_text(driver) + ", runtime " +
             version_text(CUDART_VERSION) +
             (devices.size() > 1 ? " (" + std::to_string(devices.size()) + " devices)" : "");
    // Below onednn (100) until a GPU run of scripts/gpu-check.sh has verified this backend: until
    // then it runs only when asked for (--backend cuda).
    return 50;
}

}  // namespace vitedit::cuda

using CudaBackendImpl = vitedit::cuda::CudaBackend;
VITEDIT_DEFINE_BACKEND(CudaBackendImpl, "cuda", "CUDA backend: cuBLAS FP32 GEMMs and CUDA kernels, sm_80/sm_90",
                       "0.1.0", vitedit::cuda::probe)
