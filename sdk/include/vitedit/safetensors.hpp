// vitedit — safetensors reading (F32/F16/BF16 -> f32) and atomic writing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vitedit {

// A host-side f32 tensor.
struct HostTensor {
    std::vector<int64_t> shape;
    std::vector<float> data;
    int64_t numel() const;
};

struct SafeTensorsFile {
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values)
};

// Reads and validates a whole file. Throws vitedit::Error with a message that names the file and
// the problem (empty, truncated, header length beyond the file, invalid JSON, offsets out of range
// or overlapping, shape x dtype not matching the byte range, unknown dtype, ...). Never reads out
// of bounds; validates sizes before allocating.
SafeTensorsFile read_safetensors(const std::string& path);
// Parses from memory; `what` names the source in messages.
SafeTensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& what);

// Writes F32 tensors (sorted by name) and metadata atomically: a temporary file in the same
// directory, flushed and fsynced, then renamed over `path`. On failure nothing is left behind.
void write_safetensors(const std::string& path, const SafeTensorsFile& file);

// Writes bytes atomically (temporary file + fsync + rename). Used for every model/patch/report.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace vitedit
