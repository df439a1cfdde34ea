// Helpers for the I/O tests: a self-removing temp dir and raw safetensors byte building.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace io_test {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vitedit-io-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
        path = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    // Every entry of the directory (names only), sorted.
    std::vector<std::string> entries() const {
        std::vector<std::string> v;
        for (const auto& e : std::filesystem::directory_iterator(path)) v.push_back(e.path().filename().string());
        std::sort(v.begin(), v.end());
        return v;
    }
};

inline std::string le64(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

// 8-byte length + header + data.
inline std::string st_bytes(const std::string& header, const std::string& data = "") {
    return le64(header.size()) + header + data;
}

inline void write_raw(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write test file " + path);
}

inline std::string read_raw(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline std::string u16s(const std::vector<uint16_t>& v) {
    std::string s;
    for (uint16_t x : v) {
        s.push_back(static_cast<char>(x & 0xff));
        s.push_back(static_cast<char>(x >> 8));
    }
    return s;
}

}  // namespace io_test
