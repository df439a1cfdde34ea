// vitedit — a host-side f32 tensor, whose values are its own or a view of a mapped file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

namespace vitedit {

class MappedFile;

// The values of a HostTensor. Either owned (allocated without zero-filling where they are about
// to be overwritten) or a read-only view of a MappedFile, kept alive by a shared_ptr to it, so a
// model loads without copying its weights on the host. Copies share the values; the first write
// through mutable_data() to shared or viewed values copies them first (value semantics, like the
// std::vector it replaces, without paying for copies nobody writes to).
class FloatBuffer {
public:
    FloatBuffer() = default;
    FloatBuffer(const std::vector<float>& values);  // NOLINT: implicit, as HostTensor{shape, vector} reads
    FloatBuffer(std::initializer_list<float> values);
    static FloatBuffer uninitialized(size_t n);  // owned, contents undefined
    static FloatBuffer filled(size_t n, float value);
    // `n` floats at `p` inside `file` (4-byte aligned), valid as long as any copy of the result.
    static FloatBuffer view(std::shared_ptr<const MappedFile> file, const float* p, size_t n);

    const float* data() const { return p_; }
    size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    const float& operator[](size_t i) const { return p_[i]; }
    const float* begin() const { return p_; }
    const float* end() const { return p_ + n_; }
    // Writable values: a view, or values another copy shares, are copied first.
    float* mutable_data();
    std::vector<float> to_vector() const { return std::vector<float>(begin(), end()); }
    bool is_view() const { return static_cast<bool>(file_); }
    // For a view: hands its pages back to the kernel once they have been read (MappedFile::
    // drop_pages); the values stay readable. No effect on owned values.
    void drop_pages() const;

    friend bool operator==(const FloatBuffer& a, const FloatBuffer& b);
    friend bool operator!=(const FloatBuffer& a, const FloatBuffer& b) { return !(a == b); }

private:
    std::shared_ptr<float> owned_;            // owned values (new float[]), shared by copies
    std::shared_ptr<const MappedFile> file_;  // the mapping a view lies in
    const float* p_ = nullptr;
    size_t n_ = 0;
};

struct HostTensor {
    std::vector<int64_t> shape;
    FloatBuffer data;
    int64_t numel() const;
};

}  // namespace vitedit
