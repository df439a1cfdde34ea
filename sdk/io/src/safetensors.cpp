// vitedit — safetensors reading (F32/F16/BF16 -> f32), writing, and atomic file replacement.
//
// Format: an 8-byte little-endian header length N, N bytes of a JSON object mapping tensor names to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section that
// follows the header) plus an optional "__metadata__" object of strings, then the data.
//
// Reading validates the whole header (types, ranges, sizes, overlaps) before allocating anything
// for tensor data, and never reads outside [data, data + size).
#include "vitedit/safetensors.hpp"

#include "vitedit/backend.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace vitedit {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // 100 MB: anything beyond is absurd
constexpr int kMaxJsonDepth = 64;

[[noreturn]] void fail(const std::string& what, const std::string& msg) {
    throw Error(what + ": " + msg);
}
[[noreturn]] void fail_tensor(const std::string& what, const std::string& name, const std::string& msg) {
    throw Error(what + ": tensor '" + name + "': " + msg);
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
    o << "]";
    return o.str();
}

bool host_is_little_endian() {
    const uint16_t one = 1;
    uint8_t b;
    std::memcpy(&b, &one, 1);
    return b == 1;
}

uint32_t load_u32le(const uint8_t* p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint16_t load_u16le(const uint8_t* p) { return uint16_t(uint16_t(p[0]) | (uint16_t(p[1]) << 8)); }

float bits_to_float(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// IEEE 754 binary16 -> binary32, exact for every input (normals, subnormals, +-0, +-inf, NaN with
// its payload kept in the top mantissa bits).
float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return bits_to_float(sign);
        // Subnormal: mant * 2^-24, exactly representable in f32.
        const float v = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | (mant << 13));
    return bits_to_float(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

float bf16_to_float(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

size_t dtype_size(const std::string& dt) {
    if (dt == "F32") return 4;
    if (dt == "F16" || dt == "BF16") return 2;
    return 0;
}

// Rejects JSON nested deeper than kMaxJsonDepth before handing it to the parser.
bool json_too_deep(const char* p, size_t n) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; ++i) {
        const char c = p[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxJsonDepth) return true;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return false;
}

// Reads a non-negative JSON integer; false if `v` is not one.
bool get_uint(const json& v, uint64_t& out) {
    if (v.is_number_unsigned()) {
        out = v.get<uint64_t>();
        return true;
    }
    if (v.is_number_integer()) {
        const int64_t s = v.get<int64_t>();
        if (s < 0) return false;
        out = static_cast<uint64_t>(s);
        return true;
    }
    return false;
}

struct Entry {
    std::string name;
    std::string dtype;
    size_t esize = 0;
    std::vector<int64_t> shape;
    uint64_t numel = 0;
    uint64_t begin = 0, end = 0;
};

Entry check_entry(const std::string& what, const std::string& name, const json& e, uint64_t data_size) {
    Entry t;
    t.name = name;
    if (!e.is_object()) fail_tensor(what, name, "entry is not a JSON object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!e.contains(key)) fail_tensor(what, name, std::string("missing '") + key + "'");

    const json& dt = e["dtype"];
    if (!dt.is_string()) fail_tensor(what, name, "'dtype' is not a string");
    t.dtype = dt.get<std::string>();
    t.esize = dtype_size(t.dtype);
    if (!t.esize)
        fail(what, "unsupported dtype " + t.dtype + " for tensor '" + name +
                       "' (vitedit reads F32, F16 and BF16)");

    const json& sh = e["shape"];
    if (!sh.is_array()) fail_tensor(what, name, "'shape' is not an array");
    if (sh.size() > 16) fail_tensor(what, name, "'shape' has " + std::to_string(sh.size()) + " dims (at most 16)");
    uint64_t numel = 1;
    bool overflow = false;
    for (const json& d : sh) {
        if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
            fail_tensor(what, name, "negative dimension " + std::to_string(d.get<int64_t>()) + " in 'shape'");
        uint64_t u;
        if (!get_uint(d, u)) fail_tensor(what, name, "'shape' holds a non-integer value " + d.dump());
        if (u > uint64_t(INT64_MAX)) overflow = true;
        t.shape.push_back(static_cast<int64_t>(u));
        if (!overflow && __builtin_mul_overflow(numel, u, &numel)) overflow = true;
    }
    uint64_t nbytes = 0;
    if (overflow || numel > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, uint64_t(t.esize), &nbytes))
        fail_tensor(what, name, "shape " + sh.dump() + " overflows (element count too large)");
    t.numel = numel;

    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !get_uint(off[0], t.begin) || !get_uint(off[1], t.end))
        fail_tensor(what, name, "'data_offsets' must be [begin, end] with non-negative integers, got " + off.dump());
    if (t.end < t.begin)
        fail_tensor(what, name, "data_offsets end " + std::to_string(t.end) + " < begin " + std::to_string(t.begin));
    if (t.end > data_size)
        fail_tensor(what, name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                    ") out of the data range (" + std::to_string(data_size) + " bytes)");
    if (t.end - t.begin != nbytes)
        fail_tensor(what, name, "byte length " + std::to_string(t.end - t.begin) + " != " + std::to_string(numel) +
                                    " elements x " + std::to_string(t.esize) + " bytes (" + t.dtype + ", shape " +
                                    shape_text(t.shape) + ")");
    return t;
}

void decode(const Entry& t, const uint8_t* src, float* dst) {
    const uint64_t n = t.numel;
    if (t.dtype == "F32") {
        if (host_is_little_endian()) {
            if (n) std::memcpy(dst, src, n * 4);
        } else {
            for (uint64_t i = 0; i < n; ++i) dst[i] = bits_to_float(load_u32le(src + 4 * i));
        }
    } else if (t.dtype == "F16") {
        for (uint64_t i = 0; i < n; ++i) dst[i] = half_to_float(load_u16le(src + 2 * i));
    } else {  // BF16
        for (uint64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load_u16le(src + 2 * i));
    }
}

// The values of `t` at `src`: a view of `file` where its bytes already are host f32 (the common
// case, so loading copies nothing), else decoded into owned f32.
FloatBuffer values(const Entry& t, const uint8_t* src, const std::shared_ptr<const MappedFile>& file) {
    const size_t n = static_cast<size_t>(t.numel);
    if (file && t.dtype == "F32" && host_is_little_endian() && reinterpret_cast<uintptr_t>(src) % alignof(float) == 0)
        return FloatBuffer::view(file, reinterpret_cast<const float*>(src), n);
    FloatBuffer out = FloatBuffer::uninitialized(n);
    decode(t, src, out.mutable_data());
    return out;
}

std::string errno_text(int e) { return std::strerror(e); }

std::string parent_dir(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Writes through a raw fd; throws Error with the errno text on failure.
class Sink {
public:
    Sink(int fd, const std::string& path) : fd_(fd), path_(path) {}
    void write(const void* p, size_t n) {
        const char* c = static_cast<const char*>(p);
        while (n > 0) {
            const size_t chunk = std::min<size_t>(n, size_t(1) << 30);
            const ssize_t w = ::write(fd_, c, chunk);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw Error("cannot write '" + path_ + "': " + errno_text(errno));
            }
            if (w == 0) throw Error("cannot write '" + path_ + "': write returned 0");
            c += w;
            n -= static_cast<size_t>(w);
        }
    }

private:
    int fd_;
    const std::string& path_;
};

// Creates a unique temporary file next to `path`, lets `body` fill it, fsyncs, renames it over
// `path` and fsyncs the directory (best effort). On any failure the temporary is removed, the
// target is left as it was, and Error names `path` and the errno text.
void atomic_write(const std::string& path, const std::function<void(Sink&)>& body) {
    if (path.empty()) throw Error("cannot write '': empty path");
    if (path.back() == '/') throw Error("cannot write '" + path + "': path names a directory");
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = [] {
        std::random_device rd;
        return (uint64_t(rd()) << 32) ^ rd() ^
               uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    }();

    const std::string dir = parent_dir(path);
    const std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        std::ostringstream n;
        n << (dir == "/" ? "" : dir) << "/." << base << ".tmp-" << ::getpid() << "-" << std::hex
          << (salt ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull));
        tmp = n.str();
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            throw Error("cannot write '" + path + "': cannot create a temporary file in '" + dir +
                        "': " + errno_text(errno));
    }
    if (fd < 0) throw Error("cannot write '" + path + "': no unique temporary name in '" + dir + "'");

    try {
        Sink sink(fd, path);
        body(sink);
        if (::fsync(fd) != 0) throw Error("cannot write '" + path + "': fsync: " + errno_text(errno));
        const int c = ::close(fd);
        fd = -1;
        if (c != 0) throw Error("cannot write '" + path + "': close: " + errno_text(errno));
        if (::rename(tmp.c_str(), path.c_str()) != 0)
            throw Error("cannot write '" + path + "': rename from '" + tmp + "': " + errno_text(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    // Make the rename durable; a failure here does not undo a completed write.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

namespace {

SafeTensorsFile parse(const uint8_t* data, size_t size, const std::string& what,
                      const std::shared_ptr<const MappedFile>& file) {
    if (size == 0 || data == nullptr) fail(what, "file is empty");
    if (size < 8)
        fail(what, "truncated: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | data[i];
    const uint64_t avail = uint64_t(size) - 8;
    if (hlen > kMaxHeaderBytes)
        fail(what, "header length " + std::to_string(hlen) + " is absurd (more than " +
                       std::to_string(kMaxHeaderBytes) + " bytes); not a safetensors file?");
    if (hlen > avail)
        fail(what, "header length " + std::to_string(hlen) + " is beyond the end of the file (" +
                       std::to_string(avail) + " bytes follow the length; truncated?)");

    const char* hbegin = reinterpret_cast<const char*>(data + 8);
    if (json_too_deep(hbegin, hlen)) fail(what, "header is not valid JSON: nested too deeply");

    // Parse, noting duplicate top-level keys (the parser would silently keep the last one).
    std::string duplicate;
    std::set<std::string> seen;
    json header;
    try {
        header = json::parse(
            hbegin, hbegin + hlen,
            [&](int depth, json::parse_event_t ev, json& parsed) {
                if (depth == 1 && ev == json::parse_event_t::key && duplicate.empty() && parsed.is_string()) {
                    if (!seen.insert(parsed.get<std::string>()).second) duplicate = parsed.get<std::string>();
                }
                return true;
            });
    } catch (const json::exception& e) {
        fail(what, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail(what, std::string("header is not a JSON object (it is ") + header.type_name() + ")");
    if (!duplicate.empty()) fail_tensor(what, duplicate, "appears twice in the header");

    const uint8_t* body = data + 8 + hlen;
    const uint64_t body_size = avail - hlen;

    SafeTensorsFile out;
    std::vector<Entry> entries;
    entries.reserve(header.size());
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it.value().is_object()) fail(what, "'__metadata__' is not a JSON object");
            for (auto m = it.value().begin(); m != it.value().end(); ++m) {
                if (!m.value().is_string())
                    fail(what, "'__metadata__' value for key '" + m.key() + "' is not a string (" +
                                   m.value().type_name() + ")");
                out.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        entries.push_back(check_entry(what, it.key(), it.value(), body_size));
    }

    // Overlaps: sort by begin; every non-empty range must start at or after the previous one's end.
    std::vector<const Entry*> order;
    for (const Entry& e : entries)
        if (e.end > e.begin) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < order.size(); ++i) {
        const Entry& a = *order[i - 1];
        const Entry& b = *order[i];
        if (b.begin < a.end)
            fail_tensor(what, b.name, "data [" + std::to_string(b.begin) + ", " + std::to_string(b.end) +
                                          ") overlaps tensor '" + a.name + "' [" + std::to_string(a.begin) + ", " +
                                          std::to_string(a.end) + ")");
    }

    // Everything is consistent: sizes are bounded by the file, so allocation is safe.
    for (const Entry& e : entries) out.tensors.emplace(e.name, HostTensor{e.shape, values(e, body + e.begin, file)});
    return out;
}

}  // namespace

SafeTensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& what) {
    return parse(data, size, what, nullptr);
}

SafeTensorsFile parse_safetensors(std::shared_ptr<const MappedFile> file) {
    return parse(file->data(), file->size(), file->path(), file);
}

SafeTensorsFile read_safetensors(const std::string& path) { return parse_safetensors(MappedFile::open(path)); }

void write_safetensors(const std::string& path, const SafeTensorsFile& file) {
    // Validate and lay out before touching the file system.
    json header = json::object();
    uint64_t offset = 0;
    for (const auto& [name, t] : file.tensors) {
        if (name == "__metadata__") throw Error("cannot write '" + path + "': a tensor is named '__metadata__'");
        uint64_t numel = 1;
        for (int64_t d : t.shape) {
            if (d < 0)
                throw Error("cannot write '" + path + "': tensor '" + name + "': negative dimension in shape " +
                            shape_text(t.shape));
            if (__builtin_mul_overflow(numel, uint64_t(d), &numel))
                throw Error("cannot write '" + path + "': tensor '" + name + "': shape overflows");
        }
        if (numel != t.data.size())
            throw Error("cannot write '" + path + "': tensor '" + name + "': shape " + shape_text(t.shape) +
                        " has " + std::to_string(numel) + " elements but data has " + std::to_string(t.data.size()));
        const uint64_t bytes = numel * 4;
        header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    if (!file.metadata.empty()) header["__metadata__"] = file.metadata;

    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t((uint64_t(h.size()) >> (8 * i)) & 0xff);

    atomic_write(path, [&](Sink& s) {
        s.write(len, 8);
        s.write(h.data(), h.size());
        const bool le = host_is_little_endian();
        std::vector<uint8_t> buf;
        for (const auto& kv : file.tensors) {
            const FloatBuffer& d = kv.second.data;
            if (d.empty()) continue;
            if (le) {
                s.write(d.data(), d.size() * 4);
                d.drop_pages();  // streamed once: do not keep a mapped input resident
            } else {
                buf.resize(d.size() * 4);
                for (size_t i = 0; i < d.size(); ++i) {
                    uint32_t b;
                    std::memcpy(&b, &d[i], 4);
                    for (int k = 0; k < 4; ++k) buf[4 * i + k] = uint8_t(b >> (8 * k));
                }
                s.write(buf.data(), buf.size());
            }
        }
    });
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    atomic_write(path, [&](Sink& s) { s.write(bytes.data(), bytes.size()); });
}

}  // namespace vitedit
