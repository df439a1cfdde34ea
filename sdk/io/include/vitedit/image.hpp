// vitedit — image files (stb_image) and their conversion to model input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vitedit/vit_config.hpp"

namespace vitedit {

// 8-bit pixels, interleaved channels (1 = gray, 3 = RGB).
struct Image {
    int width = 0, height = 0, channels = 0;
    std::vector<uint8_t> pixels;
};

// Decodes PNG, JPEG, BMP, GIF (first frame) and binary PGM/PPM into 1 or 3 channels (alpha
// dropped, gray kept gray). Throws vitedit::Error naming the file and the reason; refuses other
// formats (stb's TGA/PSD/HDR/PIC readers are not exposed to untrusted files), images over 16k
// pixels a side or 64M pixels in all, before decoding them, and JPEG Huffman tables stb would
// overflow.
Image load_image(const std::string& path);
// The same from a file's bytes; `what` names the source in messages.
Image decode_image(const uint8_t* data, size_t size, const std::string& what);
// Writes a PNG atomically.
void save_png(const std::string& path, const Image& image);

// Model input [C, H, W]: channels converted (gray -> replicated, RGB -> luma for 1-channel
// models), resized bilinearly (half-pixel centers) to the model's input size when they differ,
// scaled to [0, 1] and normalized with the model's mean/std.
std::vector<float> to_model_input(const Image& image, const VitConfig& config);

}  // namespace vitedit
