// vitedit — a whole file mapped read-only into memory (the model loader's source of tensor views).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vitedit {

// A read-only, private mapping of a regular file. Tensors read from it view its pages instead of
// copying them (HostTensor holds a shared_ptr to the mapping, so it outlives every view), and the
// kernel reads the file in as those pages are first touched. The file must not be truncated or
// rewritten in place while mapped; vitedit itself only ever replaces files by rename.
class MappedFile {
public:
    // Throws vitedit::Error naming the path: cannot open/stat, not a regular file, empty, cannot map.
    static std::shared_ptr<const MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Gives the resident pages wholly inside [p, p + n) back to the kernel. The bytes stay valid:
    // a later read faults them in again from the page cache. Used once a tensor's values have
    // been copied elsewhere (to a backend) or streamed (hashed, written), so that the mapping does
    // not count a second time in the process' resident memory.
    void drop_pages(const void* p, size_t n) const;

private:
    MappedFile(std::string path, const uint8_t* data, size_t size);
    std::string path_;
    const uint8_t* data_;
    size_t size_;
};

}  // namespace vitedit
