#include "device_memory.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "cuda_errors.hpp"
#include "vitedit/backend_author.hpp"

namespace vitedit::cuda {

using author::Invalid;

namespace {
constexpr size_t kAlignment = 256;
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }
}  // namespace

DeviceMemory::DeviceMemory(int device, cudaStream_t stream) : device_(device), stream_(stream) {
    int pools = 0;
    if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess && pools) {
        cudaMemPoolProps props;
        std::memset(&props, 0, sizeof props);
        props.allocType = cudaMemAllocationTypePinned;
        props.handleTypes = cudaMemHandleTypeNone;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        if (cudaMemPoolCreate(&pool_, &props) == cudaSuccess) {
            // Keep freed memory in the pool across synchronizations (the default threshold 0
            // would hand it back to the driver at every stream sync).
            uint64_t keep = UINT64_MAX;
            (void)cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep);
        } else {
            pool_ = nullptr;
            (void)cudaGetLastError();
        }
    } else {
        (void)cudaGetLastError();
    }
    // Pinned staging for uploads; without it every upload is a direct copy that is waited for.
    for (int i = 0; i < 2; ++i) {
        if (cudaHostAlloc(&staging_[i], kStagingBytes, cudaHostAllocDefault) != cudaSuccess ||
            cudaEventCreateWithFlags(&staging_done_[i], cudaEventDisableTiming) != cudaSuccess) {
            (void)cudaGetLastError();
            for (int j = 0; j < 2; ++j) {
                if (staging_[j]) cudaFreeHost(staging_[j]);
                if (staging_done_[j]) cudaEventDestroy(staging_done_[j]);
                staging_[j] = nullptr;
                staging_done_[j] = nullptr;
            }
            break;
        }
    }
}

DeviceMemory::~DeviceMemory() {
    (void)cudaStreamSynchronize(stream_);
    for (auto& kv : sizes_) raw_free(const_cast<void*>(kv.first));
    sizes_.clear();
    if (scratch_) raw_free(scratch_);
    (void)cudaStreamSynchronize(stream_);
    if (pool_) (void)cudaMemPoolDestroy(pool_);
    for (int i = 0; i < 2; ++i) {
        if (staging_done_[i]) (void)cudaEventDestroy(staging_done_[i]);
        if (staging_[i]) (void)cudaFreeHost(staging_[i]);
    }
    (void)cudaGetLastError();
}

void* DeviceMemory::raw_alloc(size_t bytes) {
    void* p = nullptr;
    cudaError_t e = pool_ ? cudaMallocFromPoolAsync(&p, bytes, pool_, stream_) : cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        throw std::bad_alloc();
    }
    check_cuda(e, "allocating " + std::to_string(bytes) + " bytes of device memory");
    return p;
}

void DeviceMemory::raw_free(void* p) noexcept {
    if (!p) return;
    cudaError_t e = pool_ ? cudaFreeAsync(p, stream_) : cudaFree(p);
    if (e != cudaSuccess) (void)cudaGetLastError();
}

ve_buffer DeviceMemory::alloc(uint64_t bytes) {
    if (bytes > SIZE_MAX - kAlignment) throw std::bad_alloc();
    size_t rounded = std::max(round_up(static_cast<size_t>(bytes), kAlignment), kAlignment);
    check_cuda(cudaSetDevice(device_), "selecting the device");
    void* p = raw_alloc(rounded);
    try {
        std::lock_guard<std::mutex> lock(mutex_);
        sizes_.emplace(p, bytes);
    } catch (...) {
        raw_free(p);
        throw;
    }
    return static_cast<ve_buffer>(p);
}

void DeviceMemory::free(ve_buffer buffer) {
    if (!buffer) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = sizes_.find(buffer);
        if (it == sizes_.end()) return;
        sizes_.erase(it);
    }
    if (cudaSetDevice(device_) != cudaSuccess) (void)cudaGetLastError();
    raw_free(buffer);
}

uint64_t DeviceMemory::size_of(ve_buffer buffer, const char* what) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(buffer);
    if (it == sizes_.end())
        throw Invalid(std::string(what) + ": buffer handle was not allocated by this backend "
                      "instance (or was freed)");
    return it->second;
}

uint64_t DeviceMemory::live_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t n = 0;
    for (auto& kv : sizes_) n += kv.second;
    return n;
}

unsigned char* DeviceMemory::range(ve_buffer buffer, uint64_t offset, uint64_t bytes,
                                   const char* what) const {
    uint64_t size = size_of(buffer, what);
    if (offset > size || bytes > size - offset)
        throw Invalid(std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                      std::to_string(offset) + " + " + std::to_string(bytes) +
                      ") exceed the buffer's " + std::to_string(size) + " bytes");
    return reinterpret_cast<unsigned char*>(buffer) + offset;
}

void DeviceMemory::upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) {
    if (bytes == 0) return;
    if (!src) throw Invalid("upload: source pointer is NULL");
    unsigned char* d = range(dst, off, bytes, "upload destination");
    check_cuda(cudaSetDevice(device_), "selecting the device");
    if (!staging_[0] || bytes > kStagingBytes) {
        // Large (model weights) or no staging: copy directly and wait, so `src` is free to go.
        check_cuda(cudaMemcpyAsync(d, src, bytes, cudaMemcpyHostToDevice, stream_),
                   "upload: copying " + std::to_string(bytes) + " bytes to the device");
        check_cuda(cudaStreamSynchronize(stream_), "upload: waiting for the copy");
        return;
    }
    std::lock_guard<std::mutex> lock(staging_mutex_);
    const int i = staging_next_;
    staging_next_ ^= 1;
    // The previous copy out of this half must be done before it is overwritten (it usually is:
    // this waits at most for the work queued before that copy).
    check_cuda(cudaEventSynchronize(staging_done_[i]), "upload: waiting for the staging buffer");
    std::memcpy(staging_[i], src, static_cast<size_t>(bytes));
    check_cuda(cudaMemcpyAsync(d, staging_[i], bytes, cudaMemcpyHostToDevice, stream_),
               "upload: copying " + std::to_string(bytes) + " bytes to the device");
    check_cuda(cudaEventRecord(staging_done_[i], stream_), "upload: recording the staging event");
}

void DeviceMemory::download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) {
    if (bytes == 0) return;
    if (!dst) throw Invalid("download: destination pointer is NULL");
    const unsigned char* s = range(src, off, bytes, "download source");
    check_cuda(cudaSetDevice(device_), "selecting the device");
    check_cuda(cudaMemcpyAsync(dst, s, bytes, cudaMemcpyDeviceToHost, stream_),
               "download: copying " + std::to_string(bytes) + " bytes from the device");
    check_cuda(cudaStreamSynchronize(stream_), "download: waiting for the stream");
}

void* DeviceMemory::scratch(size_t bytes) {
    bytes = std::max(round_up(bytes, kAlignment), kAlignment);
    if (bytes <= scratch_bytes_) return scratch_;
    // Grow by at least half, in MiB steps; the old block is released in stream order.
    size_t want = std::max(bytes, scratch_bytes_ + scratch_bytes_ / 2);
    want = round_up(want, size_t(1) << 20);
    void* p = raw_alloc(want);
    raw_free(scratch_);
    scratch_ = p;
    scratch_bytes_ = want;
    return scratch_;
}

}  // namespace vitedit::cuda
