// vitedit — image decoding/encoding with stb, and preprocessing for the model.
#include "vitedit/image.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <stb_image.h>
#include <stb_image_write.h>

#include "vitedit/backend.hpp"
#include "vitedit/safetensors.hpp"

namespace vitedit {

namespace {
constexpr int kMaxImageSide = 16384;
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;  // 64M pixels: 192 MiB as RGB
constexpr size_t kMaxImageFileBytes = size_t(1) << 30;

// The formats handed to stb, by their magic bytes; nullptr for anything else.
const char* sniff_format(const uint8_t* d, size_t n) {
    auto starts = [&](const char* magic, size_t len) { return n >= len && std::memcmp(d, magic, len) == 0; };
    if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (starts("\xff\xd8\xff", 3)) return "JPEG";
    if (starts("BM", 2)) return "BMP";
    if (starts("GIF87a", 6) || starts("GIF89a", 6)) return "GIF";
    if (starts("P5", 2) || starts("P6", 2)) return "PNM";
    return nullptr;
}

// stb_image (2022-09, also Debian 12's libstb) builds a JPEG Huffman table from its 16 code
// counts without checking that they add up to at most 256 symbols, and writes past its arrays
// when they do (found by fuzz/fuzz_image.cpp). Walk the marker segments as stb does (it skips
// junk between segments; entropy-coded data ends at the first 0xFF not followed by 0x00 or a
// restart marker), so that every table stb would read is seen, and refuse such a table.
void check_jpeg_huffman_tables(const uint8_t* d, size_t n, const std::string& what) {
    size_t i = 2;  // after SOI
    bool in_scan = false;
    while (i + 1 < n) {
        if (in_scan) {  // skip entropy-coded data up to the next marker
            if (d[i] != 0xFF || d[i + 1] == 0x00 || (d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7)) {
                ++i;
                continue;
            }
            in_scan = false;
        }
        if (d[i] != 0xFF) {  // junk between segments: stb skips it looking for the next marker
            ++i;
            continue;
        }
        while (i < n && d[i] == 0xFF) ++i;  // fill bytes
        if (i >= n) return;
        const uint8_t m = d[i++];
        if (m == 0xD9) return;                        // EOI
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
        if (i + 2 > n) return;
        const size_t len = (size_t(d[i]) << 8) | d[i + 1];
        if (m == 0xC4) {
            long left = static_cast<long>(len) - 2;
            size_t p = i + 2;
            while (left > 0 && p + 1 < n) {
                size_t symbols = 0;  // stb reads zeros past the end of the data
                for (size_t k = 1; k <= 16 && p + k < n; ++k) symbols += d[p + k];
                if (symbols > 256)
                    throw Error(what + ": corrupt JPEG (a Huffman table declares " + std::to_string(symbols) +
                                " codes, at most 256 are possible)");
                left -= static_cast<long>(17 + symbols);
                p += 17 + symbols;
            }
        }
        if (m == 0xDA) in_scan = true;
        i += len;
    }
}
// stb's PGM/PPM header reader accumulates each number in an int without an overflow check (signed
// overflow: undefined behaviour; found by fuzz/fuzz_image.cpp). Read the three header numbers
// (width, height, maxval) with stb's grammar (whitespace, '#' comments) and refuse any of ten or
// more digits; nine digits cannot overflow.
void check_pnm_header(const uint8_t* d, size_t n, const std::string& what) {
    size_t i = 2;  // after "P5" / "P6"
    auto space = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
    for (int number = 0; number < 3; ++number) {
        for (;;) {
            while (i < n && space(d[i])) ++i;
            if (i >= n || d[i] != '#') break;
            while (i < n && d[i] != '\n' && d[i] != '\r') ++i;
        }
        size_t digits = 0;
        while (i < n && d[i] >= '0' && d[i] <= '9') ++i, ++digits;
        if (digits >= 10) throw Error(what + ": corrupt PGM/PPM header (a number of " + std::to_string(digits) + " digits)");
        if (digits == 0) return;  // stb refuses the header itself
    }
}
// stb adds an offset to its (still NULL) compressed-data buffer for an empty IDAT chunk that
// comes before any data: undefined behaviour (found by fuzz/fuzz_image.cpp). Empty IDAT chunks
// are legal but never written that way by real encoders: refuse them.
void check_png_chunks(const uint8_t* d, size_t n, const std::string& what) {
    size_t p = 8;
    while (p + 8 <= n) {
        const uint32_t len = (uint32_t(d[p]) << 24) | (uint32_t(d[p + 1]) << 16) | (uint32_t(d[p + 2]) << 8) | d[p + 3];
        if (std::memcmp(d + p + 4, "IDAT", 4) == 0) {
            if (len == 0) throw Error(what + ": unsupported PNG (an empty IDAT chunk before the image data)");
            return;
        }
        if (std::memcmp(d + p + 4, "IEND", 4) == 0) return;
        p += 12 + static_cast<size_t>(len);
    }
}
}  // namespace

Image load_image(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw Error(path + ": cannot open image (" + std::string(std::strerror(errno)) + ")");
    std::vector<uint8_t> bytes;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        bytes.insert(bytes.end(), buf, buf + n);
        if (bytes.size() > kMaxImageFileBytes) {
            std::fclose(f);
            throw Error(path + ": image file larger than 1 GiB");
        }
    }
    const bool failed = std::ferror(f) != 0;
    const int err = errno;
    std::fclose(f);
    if (failed) throw Error(path + ": cannot read image (" + std::string(std::strerror(err)) + ")");
    return decode_image(bytes.data(), bytes.size(), path);
}

Image decode_image(const uint8_t* data, size_t size, const std::string& what) {
    if (size == 0) throw Error(what + ": not a decodable image (the file is empty)");
    if (size > static_cast<size_t>(INT32_MAX)) throw Error(what + ": image file too large");
    const int len = static_cast<int>(size);
    const char* format = sniff_format(data, size);
    if (!format) throw Error(what + ": not a decodable image (not PNG, JPEG, BMP, GIF, PGM or PPM)");
    if (std::strcmp(format, "JPEG") == 0) check_jpeg_huffman_tables(data, size, what);
    if (std::strcmp(format, "PNM") == 0) check_pnm_header(data, size, what);
    if (std::strcmp(format, "PNG") == 0) check_png_chunks(data, size, what);
    auto be32 = [&](size_t o) { return (uint32_t(data[o]) << 24) | (uint32_t(data[o + 1]) << 16) | (uint32_t(data[o + 2]) << 8) | data[o + 3]; };
    auto check_size = [&](int64_t w, int64_t h) {
        if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
            throw Error(what + ": image size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range (at most " +
                        std::to_string(kMaxImageSide) + " a side and " + std::to_string(kMaxImagePixels) + " pixels)");
    };
    if (std::strcmp(format, "PNG") == 0 && size >= 24) check_size(be32(16), be32(20));  // IHDR, before stb looks
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(data, len, &w, &h, &c)) {
        const char* why = stbi_failure_reason();
        throw Error(what + ": not a decodable " + format + " image (stb: " + std::string(why ? why : "unknown") +
                    "; corrupt or truncated?)");
    }
    // Validated before stb allocates the decoded pixels.
    check_size(w, h);
    if (std::strcmp(format, "PNM") == 0) {  // uncompressed: the pixels must be there before stb allocates for them
        const int64_t need = int64_t(w) * h * (data[1] == '6' ? 3 : 1);
        if (static_cast<int64_t>(size) < need)
            throw Error(what + ": truncated PGM/PPM (" + std::to_string(w) + "x" + std::to_string(h) + " needs " +
                        std::to_string(need) + " bytes of pixels, the file has " + std::to_string(size) + ")");
    }
    if (std::strcmp(format, "BMP") == 0 && size >= 34) {  // likewise an uncompressed (BI_RGB) Windows BMP
        const uint32_t bpp = data[28] | (uint32_t(data[29]) << 8);
        const uint32_t compression = data[30] | (uint32_t(data[31]) << 8) | (uint32_t(data[32]) << 16) | (uint32_t(data[33]) << 24);
        const int64_t need = (int64_t(w) * bpp + 31) / 32 * 4 * h;
        const uint32_t info_size = data[14] | (uint32_t(data[15]) << 8) | (uint32_t(data[16]) << 16) | (uint32_t(data[17]) << 24);
        if (info_size >= 40 && compression == 0 && bpp > 0 && static_cast<int64_t>(size) < need)
            throw Error(what + ": truncated BMP (" + std::to_string(w) + "x" + std::to_string(h) + " needs " +
                        std::to_string(need) + " bytes of pixels, the file has " + std::to_string(size) + ")");
    }
    const int want = (c == 1 || c == 2) ? 1 : 3;
    int dw = 0, dh = 0, dc = 0;
    unsigned char* pixels = stbi_load_from_memory(data, len, &dw, &dh, &dc, want);
    if (!pixels) {
        const char* why = stbi_failure_reason();
        throw Error(what + ": cannot decode the " + std::string(format) + " image (stb: " + std::string(why ? why : "unknown") +
                    "; corrupt or truncated?)");
    }
    if (dw != w || dh != h) {  // the header and the decoder must agree, or the sizes checked above mean nothing
        stbi_image_free(pixels);
        throw Error(what + ": inconsistent image header (" + std::to_string(w) + "x" + std::to_string(h) + " vs " +
                    std::to_string(dw) + "x" + std::to_string(dh) + ")");
    }
    Image img;
    img.width = w;
    img.height = h;
    img.channels = want;
    img.pixels.assign(pixels, pixels + static_cast<size_t>(w) * h * want);
    stbi_image_free(pixels);
    return img;
}

void save_png(const std::string& path, const Image& image) {
    if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
        throw Error(path + ": refusing to write an inconsistent image");
    std::string bytes;
    auto sink = [](void* ctx, void* data, int size) {
        static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
    };
    if (!stbi_write_png_to_func(sink, &bytes, image.width, image.height, image.channels, image.pixels.data(),
                                image.width * image.channels))
        throw Error(path + ": PNG encoding failed");
    write_file_atomic(path, bytes);
}

std::vector<float> to_model_input(const Image& img, const VitConfig& cfg) {
    const int C = cfg.in_chans, H = cfg.image_h(), W = cfg.image_w();
    // Channel conversion to floats in [0, 1] at the source resolution.
    const size_t plane = static_cast<size_t>(img.width) * img.height;
    std::vector<float> src(plane * C);
    for (size_t i = 0; i < plane; ++i) {
        const uint8_t* px = &img.pixels[i * img.channels];
        for (int c = 0; c < C; ++c) {
            float v;
            if (img.channels == C) v = px[c];
            else if (img.channels == 1) v = px[0];
            else v = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];  // RGB -> luma (ITU-R 601)
            src[c * plane + i] = v / 255.0f;
        }
    }
    std::vector<float> out(static_cast<size_t>(C) * H * W);
    const bool same = img.width == W && img.height == H;
    const float sx = static_cast<float>(img.width) / W, sy = static_cast<float>(img.height) / H;
    for (int c = 0; c < C; ++c) {
        const float* s = &src[c * plane];
        for (int y = 0; y < H; ++y) {
            for (int x = 0; x < W; ++x) {
                float v;
                if (same) {
                    v = s[static_cast<size_t>(y) * img.width + x];
                } else {
                    const float fy = std::clamp((y + 0.5f) * sy - 0.5f, 0.0f, img.height - 1.0f);
                    const float fx = std::clamp((x + 0.5f) * sx - 0.5f, 0.0f, img.width - 1.0f);
                    const int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
                    const int y1 = std::min(y0 + 1, img.height - 1), x1 = std::min(x0 + 1, img.width - 1);
                    const float wy = fy - y0, wx = fx - x0;
                    auto at = [&](int yy, int xx) { return s[static_cast<size_t>(yy) * img.width + xx]; };
                    v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
                }
                out[(static_cast<size_t>(c) * H + y) * W + x] = (v - cfg.mean[c]) / cfg.std[c];
            }
        }
    }
    return out;
}

}  // namespace vitedit
