// vitedit — safetensors reading (F32/F16/BF16 -> f32) and atomic writing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/host_tensor.hpp"
#include "vitedit/mapped_file.hpp"

namespace vitedit {

struct SafeTensorsFile {
    std::map<std::string, HostTensor> tensors;
    std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values)
};

// Maps and validates a whole file. Throws vitedit::Error with a message that names the file and
// the problem (empty, truncated, header length beyond the file, invalid JSON, offsets out of range
// or overlapping, shape x dtype not matching the byte range, unknown dtype, ...). Never reads out
// of bounds; validates sizes before allocating. Aligned little-endian F32 tensors view the
// mapping (no copy, their pages read in on first use); F16/BF16 ones are converted to owned f32.
SafeTensorsFile read_safetensors(const std::string& path);
// The same over a mapping already made.
SafeTensorsFile parse_safetensors(std::shared_ptr<const MappedFile> file);
// Parses from memory the caller keeps no promise about: every tensor is copied. `what` names the
// source in messages.
SafeTensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& what);

// Writes F32 tensors (sorted by name) and metadata atomically: a temporary file in the same
// directory, flushed and fsynced, then renamed over `path`. On failure nothing is left behind.
void write_safetensors(const std::string& path, const SafeTensorsFile& file);

// Writes bytes atomically (temporary file + fsync + rename). Used for every model/patch/report.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace vitedit
