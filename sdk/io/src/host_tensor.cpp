// vitedit — host tensors and their values.
#include "vitedit/host_tensor.hpp"

#include "vitedit/mapped_file.hpp"

#include <algorithm>
#include <cstring>

namespace vitedit {

int64_t HostTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

FloatBuffer FloatBuffer::uninitialized(size_t n) {
    FloatBuffer b;
    b.owned_ = std::shared_ptr<float>(new float[std::max<size_t>(n, 1)], std::default_delete<float[]>());
    b.p_ = b.owned_.get();
    b.n_ = n;
    return b;
}

FloatBuffer FloatBuffer::filled(size_t n, float value) {
    FloatBuffer b = uninitialized(n);
    std::fill_n(b.owned_.get(), n, value);
    return b;
}

FloatBuffer::FloatBuffer(const std::vector<float>& values) : FloatBuffer(uninitialized(values.size())) {
    if (!values.empty()) std::memcpy(owned_.get(), values.data(), values.size() * sizeof(float));
}

FloatBuffer::FloatBuffer(std::initializer_list<float> values) : FloatBuffer(uninitialized(values.size())) {
    std::copy(values.begin(), values.end(), owned_.get());
}

FloatBuffer FloatBuffer::view(std::shared_ptr<const MappedFile> file, const float* p, size_t n) {
    FloatBuffer b;
    b.file_ = std::move(file);
    b.p_ = p;
    b.n_ = n;
    return b;
}

float* FloatBuffer::mutable_data() {
    if (!owned_ || owned_.use_count() > 1) {
        FloatBuffer copy = uninitialized(n_);
        if (n_) std::memcpy(copy.owned_.get(), p_, n_ * sizeof(float));
        *this = std::move(copy);
    }
    return owned_.get();
}

void FloatBuffer::drop_pages() const {
    if (file_) file_->drop_pages(p_, n_ * sizeof(float));
}

bool operator==(const FloatBuffer& a, const FloatBuffer& b) {
    return a.n_ == b.n_ && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace vitedit
