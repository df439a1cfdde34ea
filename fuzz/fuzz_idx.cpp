// Fuzz target: the IDX image and label parsers (the bytes after gzip decompression). The first
// input byte picks the parser; the rest is the file. Any input must parse or throw vitedit::Error.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        if (data[0] & 1) {
            auto labels = vitedit::parse_idx_labels(bytes, "fuzz-labels-idx1-ubyte");
            if (labels.size() + 8 != bytes.size()) std::abort();
        } else {
            auto img = vitedit::parse_idx_images(bytes, "fuzz-images-idx3-ubyte");
            if (img.pixels.size() != static_cast<size_t>(img.count) * img.rows * img.cols) std::abort();
        }
    } catch (const vitedit::Error&) {
    }
    return 0;
}
