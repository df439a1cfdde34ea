// safetensors: round trip, F16/BF16 decoding, and refusal of every malformed file with a message
// that names the file, the tensor and the reason.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "io_util.hpp"
#include "vitedit/backend.hpp"
#include "vitedit/safetensors.hpp"

using Catch::Contains;
using io_test::st_bytes;
using io_test::TempDir;
using vitedit::HostTensor;
using vitedit::SafeTensorsFile;

namespace {

uint32_t float_bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Writes `bytes` as `name` in `dir`, and requires that reading it throws vitedit::Error whose
// message names the file and contains every one of `parts`.
void require_refused(const TempDir& dir, const std::string& name, const std::string& bytes,
                     const std::vector<std::string>& parts) {
    const std::string path = dir.file(name);
    io_test::write_raw(path, bytes);
    INFO("file " << name);
    REQUIRE_THROWS_AS(vitedit::read_safetensors(path), vitedit::Error);
    REQUIRE_THROWS_WITH(vitedit::read_safetensors(path), Contains(path));
    for (const std::string& p : parts) REQUIRE_THROWS_WITH(vitedit::read_safetensors(path), Contains(p));
    // The in-memory parser says the same, naming its `what`.
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    REQUIRE_THROWS_AS(vitedit::parse_safetensors(data, bytes.size(), "<mem " + name + ">"), vitedit::Error);
    REQUIRE_THROWS_WITH(vitedit::parse_safetensors(data, bytes.size(), "<mem " + name + ">"),
                        Contains("<mem " + name + ">"));
}

std::string f32s(const std::vector<float>& v) {
    std::string s(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); ++i) {
        const uint32_t b = float_bits(v[i]);
        for (int k = 0; k < 4; ++k) s[4 * i + k] = static_cast<char>((b >> (8 * k)) & 0xff);
    }
    return s;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, shapes, values and metadata", "[safetensors]") {
    TempDir dir;
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    SafeTensorsFile f;
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
        HostTensor t;
        t.shape = shape;
        std::vector<float> v(static_cast<size_t>(t.numel()));
        for (float& x : v) x = nd(rng);
        t.data = v;
        f.tensors[name] = t;
    };
    add("blocks.0.mlp.fc1.weight", {16, 8});
    add("a", {3});
    add("Zed", {1, 1, 5});
    add("scalar", {});
    add("empty", {0, 4});
    f.tensors["special"] = HostTensor{{4}, {std::numeric_limits<float>::infinity(), -0.0f,
                                            std::numeric_limits<float>::denorm_min(), 1e38f}};
    f.metadata = {{"vitedit.num_heads", "4"}, {"note", "\"quoted\" \\ and unicode \xc3\xa9"}};

    const std::string path = dir.file("model.safetensors");
    vitedit::write_safetensors(path, f);
    REQUIRE(dir.entries() == std::vector<std::string>{"model.safetensors"});

    const SafeTensorsFile g = vitedit::read_safetensors(path);
    REQUIRE(g.metadata == f.metadata);
    REQUIRE(g.tensors.size() == f.tensors.size());
    for (const auto& [name, t] : f.tensors) {
        INFO(name);
        REQUIRE(g.tensors.count(name) == 1);
        const HostTensor& u = g.tensors.at(name);
        REQUIRE(u.shape == t.shape);
        REQUIRE(u.data.size() == t.data.size());
        for (size_t i = 0; i < t.data.size(); ++i) REQUIRE(float_bits(u.data[i]) == float_bits(t.data[i]));
    }
    REQUIRE(g.tensors.at("scalar").numel() == 1);

    // Layout: 8-byte aligned header padded with spaces, tensors stored in name order, F32.
    const std::string raw = io_test::read_raw(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[i]);
    REQUIRE(n % 8 == 0);
    REQUIRE(raw.size() >= 8 + n);
    const std::string header = raw.substr(8, n);
    REQUIRE(header.front() == '{');
    REQUIRE(header.find_last_not_of(' ') == header.find_last_of('}'));
    REQUIRE(header.find("\"F32\"") != std::string::npos);
    REQUIRE(header.find("__metadata__") != std::string::npos);
    size_t total = 0;
    for (const auto& kv : f.tensors) total += kv.second.data.size() * 4;
    REQUIRE(raw.size() == 8 + n + total);
    // Sorted by name: the first tensor's data ("Zed", uppercase sorts first) starts the data section.
    REQUIRE(raw.substr(8 + n, 20) == f32s(f.tensors.at("Zed").data.to_vector()));
}

TEST_CASE("write_safetensors refuses inconsistent tensors and writes nothing", "[safetensors]") {
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    SafeTensorsFile f;
    f.tensors["w"] = HostTensor{{2, 3}, std::vector<float>(5, 1.0f)};
    REQUIRE_THROWS_WITH(vitedit::write_safetensors(path, f), Contains(path) && Contains("'w'") &&
                                                                 Contains("6 elements but data has 5"));
    f.tensors["w"] = HostTensor{{-2, 3}, std::vector<float>(6, 1.0f)};
    REQUIRE_THROWS_WITH(vitedit::write_safetensors(path, f), Contains("negative dimension"));
    f.tensors.clear();
    f.tensors["__metadata__"] = HostTensor{{1}, {1.0f}};
    REQUIRE_THROWS_AS(vitedit::write_safetensors(path, f), vitedit::Error);
    REQUIRE(dir.entries().empty());
}

TEST_CASE("F32 tensors view the mapped file, outlive it, and copy before a write", "[safetensors]") {
    TempDir dir;
    const std::string path = dir.file("m.safetensors");
    SafeTensorsFile f;
    f.tensors["w"] = HostTensor{{2, 3}, {1, 2, 3, 4, 5, 6}};
    vitedit::write_safetensors(path, f);
    HostTensor kept;
    {
        const SafeTensorsFile g = vitedit::read_safetensors(path);
        kept = g.tensors.at("w");
    }  // the parsed file is gone; the mapping lives on in `kept`
    REQUIRE(kept.data.is_view());
    REQUIRE(kept.data == f.tensors["w"].data);
    // vitedit replaces files by rename: a view keeps reading the file it mapped.
    f.tensors["w"] = HostTensor{{2, 3}, {9, 9, 9, 9, 9, 9}};
    vitedit::write_safetensors(path, f);
    kept.data.drop_pages();  // only hands pages back: the values stay readable
    REQUIRE(kept.data == vitedit::FloatBuffer({1, 2, 3, 4, 5, 6}));
    // A write to a copy copies the values first; the view and the file are untouched.
    HostTensor copy = kept;
    copy.data.mutable_data()[0] = 42;
    REQUIRE(!copy.data.is_view());
    REQUIRE(copy.data[0] == 42.0f);
    REQUIRE(kept.data[0] == 1.0f);
    REQUIRE(vitedit::read_safetensors(path).tensors.at("w").data[0] == 9.0f);
    // Parsed from memory the caller owns, tensors are copies.
    const std::string raw = io_test::read_raw(path);
    const auto mem = vitedit::parse_safetensors(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), "mem");
    REQUIRE(!mem.tensors.at("w").data.is_view());
    REQUIRE(mem.tensors.at("w").data[5] == 9.0f);
}

TEST_CASE("F32 data at an unaligned offset is copied, not viewed", "[safetensors]") {
    TempDir dir;
    const std::vector<float> v = {1.5f, -2.25f};
    std::string data(1, '\0');  // one byte before the tensor: its floats start at an odd offset
    data.append(reinterpret_cast<const char*>(v.data()), 8);
    const std::string header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}";
    const std::string path = dir.file("odd.safetensors");
    io_test::write_raw(path, st_bytes(header, data));
    const SafeTensorsFile f = vitedit::read_safetensors(path);
    const HostTensor& t = f.tensors.at("x");
    REQUIRE(!t.data.is_view());
    REQUIRE(t.data[0] == 1.5f);
    REQUIRE(t.data[1] == -2.25f);
}

TEST_CASE("F16 is decoded exactly, including subnormals, infinities and NaN", "[safetensors]") {
    TempDir dir;
    const std::vector<uint16_t> h = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00,
                                     0xFC00, 0x7E00, 0x8000, 0x3555, 0x8001, 0x0000, 0xFBFF};
    const std::string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,7],\"data_offsets\":[0,28]}}";
    const std::string path = dir.file("f16.safetensors");
    io_test::write_raw(path, st_bytes(header, io_test::u16s(h)));
    const SafeTensorsFile f = vitedit::read_safetensors(path);
    const HostTensor& t = f.tensors.at("h");
    REQUIRE(t.shape == std::vector<int64_t>{2, 7});
    REQUIRE(!t.data.is_view());  // converted to f32 it has values of its own
    const auto& d = t.data;
    REQUIRE(d[0] == 1.0f);
    REQUIRE(d[1] == -2.0f);
    REQUIRE(d[2] == std::ldexp(1.0f, -24));
    REQUIRE(d[3] == std::ldexp(1023.0f, -24));
    REQUIRE(d[4] == std::ldexp(1.0f, -14));
    REQUIRE(d[5] == 65504.0f);
    REQUIRE(std::isinf(d[6]));
    REQUIRE(d[6] > 0);
    REQUIRE(std::isinf(d[7]));
    REQUIRE(d[7] < 0);
    REQUIRE(std::isnan(d[8]));
    REQUIRE(d[9] == 0.0f);
    REQUIRE(std::signbit(d[9]));
    REQUIRE(d[10] == 0.333251953125f);
    REQUIRE(d[11] == -std::ldexp(1.0f, -24));
    REQUIRE(d[12] == 0.0f);
    REQUIRE(!std::signbit(d[12]));
    REQUIRE(d[13] == -65504.0f);
}

#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
TEST_CASE("F16 decoding matches the compiler's _Float16 for all 65536 values", "[safetensors]") {
    std::vector<uint16_t> all(65536);
    for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
    const std::string header =
        "{\"all\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[0,131072]}}";
    const std::string bytes = st_bytes(header, io_test::u16s(all));
    const SafeTensorsFile f =
        vitedit::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
    const auto& d = f.tensors.at("all").data;
    for (uint32_t i = 0; i < 65536; ++i) {
        _Float16 h;
        const uint16_t b = static_cast<uint16_t>(i);
        std::memcpy(&h, &b, 2);
        const float ref = static_cast<float>(h);
        if (std::isnan(ref)) {
            if (!std::isnan(d[i])) FAIL("half " << i << " should be NaN");
        } else if (float_bits(ref) != float_bits(d[i])) {
            FAIL("half 0x" << std::hex << i << ": got " << d[i] << ", want " << ref);
        }
    }
}
#endif

TEST_CASE("BF16 is decoded as the top half of an f32", "[safetensors]") {
    TempDir dir;
    const std::vector<uint16_t> b = {0x3F80, 0xC040, 0x7F80, 0xFF80, 0x0001, 0x7FC0, 0x8000, 0x4049};
    const std::string header = "{\"__metadata__\":{\"k\":\"v\"},"
                               "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[0,16]}}";
    const std::string path = dir.file("bf16.safetensors");
    io_test::write_raw(path, st_bytes(header, io_test::u16s(b)));
    const SafeTensorsFile f = vitedit::read_safetensors(path);
    REQUIRE(f.metadata.at("k") == "v");
    const auto& d = f.tensors.at("b").data;
    REQUIRE(d[0] == 1.0f);
    REQUIRE(d[1] == -3.0f);
    REQUIRE(std::isinf(d[2]));
    REQUIRE(d[2] > 0);
    REQUIRE(std::isinf(d[3]));
    REQUIRE(d[3] < 0);
    REQUIRE(float_bits(d[4]) == 0x00010000u);
    REQUIRE(std::isnan(d[5]));
    REQUIRE(std::signbit(d[6]));
    REQUIRE(d[7] == 3.140625f);
}

TEST_CASE("mixed dtypes, spaces after the header and unused trailing bytes are accepted", "[safetensors]") {
    const std::string header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                               "\"y\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[12,16]},"
                               "\"z\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[16,16]}}    ";
    const std::string data = std::string(4, '\x7f') + f32s({1.5f, -2.0f}) + io_test::u16s({0x4000, 0x3F00}) + "xx";
    const std::string bytes = st_bytes(header, data);
    const SafeTensorsFile f =
        vitedit::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
    REQUIRE(f.tensors.at("x").data == std::vector<float>{1.5f, -2.0f});
    REQUIRE(f.tensors.at("y").data == std::vector<float>{2.0f, 0.5f});
    REQUIRE(f.tensors.at("z").data.empty());
    REQUIRE(f.metadata.empty());
}

TEST_CASE("malformed safetensors files are refused with the file, tensor and reason", "[safetensors]") {
    TempDir dir;
    const std::string ok_w = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    const std::string eight(8, '\0');

    SECTION("empty file") { require_refused(dir, "empty.st", "", {"file is empty"}); }
    SECTION("shorter than the 8-byte length") { require_refused(dir, "short.st", "abcde", {"truncated", "5 bytes"}); }
    SECTION("header length beyond the file") {
        require_refused(dir, "beyond.st", io_test::le64(1000) + "{}", {"header length 1000", "beyond the end"});
    }
    SECTION("absurd header length") {
        require_refused(dir, "absurd.st", io_test::le64(uint64_t(1) << 40) + "{}", {"absurd"});
        require_refused(dir, "absurd2.st", io_test::le64(~uint64_t(0)) + "{}", {"absurd"});
    }
    SECTION("header is not JSON") {
        require_refused(dir, "nojson.st", st_bytes("{\"w\": {\"dtype\": "), {"not valid JSON"});
        require_refused(dir, "zerolen.st", st_bytes(""), {"not valid JSON"});
        require_refused(dir, "deep.st", st_bytes(std::string(5000, '[') + std::string(5000, ']')),
                        {"not valid JSON", "nested too deeply"});
    }
    SECTION("header is not an object") {
        require_refused(dir, "array.st", st_bytes("[1,2]"), {"not a JSON object", "array"});
        require_refused(dir, "string.st", st_bytes("\"x\""), {"not a JSON object"});
    }
    SECTION("entry not an object") {
        require_refused(dir, "entry.st", st_bytes("{\"w\":[1]}", eight), {"'w'", "entry is not a JSON object"});
    }
    SECTION("missing fields") {
        require_refused(dir, "nodtype.st", st_bytes("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "missing 'dtype'"});
        require_refused(dir, "noshape.st", st_bytes("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "missing 'shape'"});
        require_refused(dir, "nooffs.st", st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight),
                        {"'w'", "missing 'data_offsets'"});
    }
    SECTION("fields of the wrong JSON type") {
        require_refused(dir, "dtype_t.st",
                        st_bytes("{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "'dtype' is not a string"});
        require_refused(dir, "shape_t.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "'shape' is not an array"});
        require_refused(dir, "shape_f.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "non-integer"});
        require_refused(dir, "shape_s.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "non-integer"});
        require_refused(dir, "offs_t.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\"}}", eight),
                        {"'w'", "'data_offsets' must be [begin, end]"});
        require_refused(dir, "offs_n.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", eight),
                        {"'w'", "'data_offsets' must be [begin, end]"});
        require_refused(dir, "offs_neg.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", eight),
                        {"'w'", "'data_offsets' must be [begin, end]"});
    }
    SECTION("negative dimension") {
        require_refused(dir, "negdim.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,-1],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "negative dimension -2"});
    }
    SECTION("shape product overflow") {
        require_refused(dir, "ovf.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                                 "\"data_offsets\":[0,8]}}",
                                 eight),
                        {"'w'", "overflows"});
        require_refused(dir, "ovf2.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615],"
                                 "\"data_offsets\":[0,8]}}",
                                 eight),
                        {"'w'", "overflows"});
        // numel fits but numel * 4 bytes does not.
        require_refused(dir, "ovf3.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                                 "\"data_offsets\":[0,8]}}",
                                 eight),
                        {"'w'", "overflows"});
    }
    SECTION("data_offsets beyond the data") {
        require_refused(dir, "range.st", st_bytes("{" + ok_w + "}", std::string(6, '\0')),
                        {"'w'", "out of the data range (6 bytes)"});
        require_refused(dir, "range2.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
                                 "\"data_offsets\":[18446744073709551608,18446744073709551615]}}",
                                 eight),
                        {"'w'", "out of the data range"});
    }
    SECTION("end before begin") {
        require_refused(dir, "order.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", eight),
                        {"'w'", "end 0 < begin 8"});
    }
    SECTION("byte length does not match shape x dtype") {
        require_refused(dir, "len.st",
                        st_bytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
                        {"'w'", "byte length 8 != 3 elements x 4 bytes"});
        require_refused(dir, "len16.st",
                        st_bytes("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,6]}}", eight),
                        {"'w'", "byte length 6 != 4 elements x 2 bytes"});
    }
    SECTION("overlapping tensors") {
        require_refused(dir, "overlap.st",
                        st_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                 std::string(12, '\0')),
                        {"'b'", "overlaps tensor 'a'"});
        require_refused(dir, "same.st",
                        st_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                 "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}",
                                 eight),
                        {"overlaps tensor"});
    }
    SECTION("duplicate tensor names") {
        require_refused(dir, "dup.st", st_bytes("{" + ok_w + "," + ok_w + "}", eight), {"'w'", "appears twice"});
    }
    SECTION("unsupported dtypes") {
        for (const char* dt : {"F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "f32"}) {
            require_refused(dir, std::string("dt_") + dt + ".st",
                            st_bytes("{\"w\":{\"dtype\":\"" + std::string(dt) +
                                         "\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                                     eight),
                            {std::string("unsupported dtype ") + dt + " for tensor 'w'"});
        }
    }
    SECTION("__metadata__ must hold strings") {
        require_refused(dir, "meta.st", st_bytes("{\"__metadata__\":{\"heads\":4}," + ok_w + "}", eight),
                        {"'__metadata__' value for key 'heads' is not a string"});
        require_refused(dir, "meta2.st", st_bytes("{\"__metadata__\":[\"x\"]," + ok_w + "}", eight),
                        {"'__metadata__' is not a JSON object"});
    }
}

TEST_CASE("read_safetensors names the path when it cannot open it", "[safetensors]") {
    TempDir dir;
    const std::string missing = dir.file("nope.safetensors");
    REQUIRE_THROWS_WITH(vitedit::read_safetensors(missing), Contains(missing) && Contains("No such file"));
    REQUIRE_THROWS_WITH(vitedit::read_safetensors(dir.path.string()),
                        Contains(dir.path.string()) && Contains("not a regular file"));
}
