// vitedit — Fashion-MNIST IDX files (gzip via zlib, or uncompressed).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <zlib.h>

#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

namespace vitedit {

namespace {

constexpr size_t kMaxIdxBytes = size_t(1) << 31;  // refuse to inflate more than 2 GiB

// The whole (decompressed) content of a gzip or plain file.
std::string read_maybe_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) {
        const int err = errno;
        throw Error(path + ": cannot open (" + std::string(err ? std::strerror(err) : "out of memory") + ")");
    }
    gzbuffer(f, 1 << 17);
    std::string out;
    char buf[1 << 16];
    for (;;) {
        const int n = gzread(f, buf, sizeof buf);
        if (n < 0) {
            int code = 0;
            const char* msg = gzerror(f, &code);
            std::string why = code == Z_ERRNO ? std::strerror(errno) : (msg ? msg : "read error");
            gzclose(f);
            throw Error(path + ": cannot read (" + why + ")");
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxIdxBytes) {
            gzclose(f);
            throw Error(path + ": more than 2 GiB of data, not an IDX file");
        }
    }
    int code = 0;
    const char* msg = gzerror(f, &code);
    if (code != Z_OK && code != Z_STREAM_END) {
        std::string why = msg ? msg : "error";
        gzclose(f);
        throw Error(path + ": truncated or corrupt gzip data (" + why + ")");
    }
    // gzread stops silently at a gzip stream cut short; gzclose reports it (Z_BUF_ERROR).
    const int rc = gzclose(f);
    if (rc == Z_BUF_ERROR) throw Error(path + ": truncated gzip data (the compressed stream ends early)");
    if (rc != Z_OK) throw Error(path + ": corrupt gzip data (zlib error " + std::to_string(rc) + ")");
    return out;
}

uint32_t be32(const std::string& b, size_t off) {
    const auto* p = reinterpret_cast<const unsigned char*>(b.data() + off);
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t v) {
    char s[16];
    std::snprintf(s, sizeof s, "0x%08X", v);
    return s;
}

// Parses the IDX header of an unsigned-byte file of rank `rank`; returns the dims.
std::vector<int64_t> idx_header(const std::string& b, const std::string& path, int rank, const char* what) {
    if (b.size() < 4) throw Error(path + ": truncated IDX file (" + std::to_string(b.size()) + " bytes, no header)");
    const uint32_t magic = be32(b, 0);
    const uint32_t want = 0x00000800u | static_cast<uint32_t>(rank);
    if (magic != want) {
        std::string hint;
        if ((magic >> 16) != 0) hint = " (not an IDX file)";
        else if (((magic >> 8) & 0xFF) != 0x08) hint = " (element type is not unsigned byte)";
        else hint = " (rank " + std::to_string(magic & 0xFF) + ", expected " + std::to_string(rank) + ")";
        throw Error(path + ": bad magic number " + hex32(magic) + ", expected " + hex32(want) + " for an IDX " + what +
                    " file" + hint);
    }
    const size_t header = 4 + 4 * static_cast<size_t>(rank);
    if (b.size() < header)
        throw Error(path + ": truncated IDX header (" + std::to_string(b.size()) + " of " + std::to_string(header) + " bytes)");
    std::vector<int64_t> dims;
    for (int i = 0; i < rank; ++i) dims.push_back(static_cast<int64_t>(be32(b, 4 + 4 * i)));
    return dims;
}

void check_payload(const std::string& b, const std::string& path, size_t header, int64_t expect, const char* unit) {
    const int64_t have = static_cast<int64_t>(b.size() - header);
    if (have < expect)
        throw Error(path + ": truncated: the header promises " + std::to_string(expect) + " bytes of " + unit +
                    ", the file has " + std::to_string(have));
    if (have > expect)
        throw Error(path + ": " + std::to_string(have - expect) + " unexpected trailing bytes after " +
                    std::to_string(expect) + " bytes of " + unit);
}

}  // namespace

IdxImages read_idx_images(const std::string& path) { return parse_idx_images(read_maybe_gz(path), path); }

std::vector<uint8_t> read_idx_labels(const std::string& path) { return parse_idx_labels(read_maybe_gz(path), path); }

IdxImages parse_idx_images(const std::string& b, const std::string& path) {
    const auto dims = idx_header(b, path, 3, "image");
    if (dims[1] <= 0 || dims[2] <= 0 || dims[1] > 16384 || dims[2] > 16384)
        throw Error(path + ": image size " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) + " is out of range");
    IdxImages img;
    img.count = dims[0];
    img.rows = static_cast<int>(dims[1]);
    img.cols = static_cast<int>(dims[2]);
    check_payload(b, path, 16, img.count * img.rows * img.cols, "pixels");
    img.pixels.assign(b.begin() + 16, b.end());
    return img;
}

std::vector<uint8_t> parse_idx_labels(const std::string& b, const std::string& path) {
    const auto dims = idx_header(b, path, 1, "label");
    check_payload(b, path, 8, dims[0], "labels");
    return std::vector<uint8_t>(b.begin() + 8, b.end());
}

const std::vector<std::string>& fmnist_class_names() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

std::string fmnist_dir() {
    const char* env = std::getenv("VITEDIT_FMNIST_DIR");
    if (env && *env) return env;
    return "/usr/share/datasets/fashion-mnist";
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, const std::string& spec) {
    IdxImages im = read_idx_images(images_path);
    std::vector<uint8_t> lab = read_idx_labels(labels_path);
    if (static_cast<int64_t>(lab.size()) != im.count)
        throw Error(labels_path + ": " + std::to_string(lab.size()) + " labels for the " + std::to_string(im.count) +
                    " images of " + images_path);
    const int classes = static_cast<int>(fmnist_class_names().size());
    Dataset d;
    d.spec = spec;
    d.class_names = fmnist_class_names();
    const size_t per = static_cast<size_t>(im.rows) * im.cols;
    d.images.resize(static_cast<size_t>(im.count));
    d.labels.resize(static_cast<size_t>(im.count));
    for (size_t i = 0; i < d.images.size(); ++i) {
        if (lab[i] >= classes)
            throw Error(labels_path + ": label " + std::to_string(lab[i]) + " of item " + std::to_string(i) +
                        " is not a Fashion-MNIST class (0.." + std::to_string(classes - 1) + ")");
        Image& m = d.images[i];
        m.width = im.cols;
        m.height = im.rows;
        m.channels = 1;
        m.pixels.assign(im.pixels.begin() + i * per, im.pixels.begin() + (i + 1) * per);
        d.labels[i] = lab[i];
    }
    return d;
}

Dataset load_fmnist(const std::string& split, const std::string& dir_in) {
    std::string prefix;
    if (split == "train") prefix = "train";
    else if (split == "test") prefix = "t10k";
    else throw Error("fmnist: unknown split '" + split + "' (use fmnist:train or fmnist:test)");
    const std::string dir = dir_in.empty() ? fmnist_dir() : dir_in;
    auto pick = [&](const std::string& base) {
        const std::string gz = dir + "/" + base + ".gz";
        if (FILE* f = std::fopen(gz.c_str(), "rb")) {
            std::fclose(f);
            return gz;
        }
        const std::string raw = dir + "/" + base;
        if (FILE* f = std::fopen(raw.c_str(), "rb")) {
            std::fclose(f);
            return raw;
        }
        throw Error("fmnist: " + gz + " not found (install Debian's dataset-fashion-mnist, or point "
                    "VITEDIT_FMNIST_DIR at a folder with the IDX files)");
    };
    Dataset d = load_idx_pair(pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte"), "fmnist:" + split);
    const size_t expect = split == "train" ? 60000 : 10000;
    if (d.size() != expect && !std::getenv("VITEDIT_FMNIST_DIR"))
        throw Error("fmnist:" + split + ": " + std::to_string(d.size()) + " images, the standard split has " +
                    std::to_string(expect));
    return d;
}

}  // namespace vitedit
