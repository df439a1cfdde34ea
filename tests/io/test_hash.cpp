// SHA-256 and the tensors hash that identifies a model: known test vectors, the bundled model's
// stored identity, and rehashing only what an edit changed.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "vitedit/backend.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/model.hpp"
#include "vitedit/safetensors.hpp"

using vitedit::HostTensor;
using Unchanged = std::map<std::string, HostTensor>;  // no tensor replaced

namespace {
std::string sha256(const std::string& s) {
    vitedit::Sha256 h;
    h.update(s.data(), s.size());
    return h.hex();
}
}  // namespace

TEST_CASE("Sha256 gives the FIPS 180-2 test vectors", "[hash]") {
    CHECK(sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // 448 bits: the padding needs a second block.
    CHECK(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a', fed in uneven pieces: many blocks, updates that straddle them.
    vitedit::Sha256 h;
    const std::string a(2000, 'a');  // longer than any piece
    for (size_t done = 0, piece = 1; done < 1000000; done += piece, piece = piece % 997 + 13)
        h.update(a.data(), std::min(piece, 1000000 - done));
    CHECK(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // A copy continues on its own.
    vitedit::Sha256 ab;
    ab.update("ab", 2);
    vitedit::Sha256 copy(ab);
    ab.update("c", 1);
    copy.update("x", 1);
    CHECK(ab.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(copy.hex() == sha256("abx"));
}

TEST_CASE("the bundled model's tensors hash is the identity its checkpoint and benchmark store", "[hash]") {
    const std::string root = VITEDIT_SOURCE_DIR;
    const std::string model_path = root + "/samples/models/vit-fmnist.safetensors";
    const std::string hyper_path = root + "/samples/models/vit-fmnist.hypernet.safetensors";
    REQUIRE(std::ifstream(model_path));
    REQUIRE(std::ifstream(hyper_path));
    const std::string stored = vitedit::read_safetensors(hyper_path).metadata.at("vitedit.hypernet.model_hash");
    REQUIRE(stored.size() == 64);
    CHECK(vitedit::tensors_hash(vitedit::load_model(model_path).tensors) == stored);
    std::ifstream manifest(root + "/samples/bench/manifest.json");
    if (manifest) CHECK(nlohmann::json::parse(manifest).at("model_hash").get<std::string>() == stored);
}

TEST_CASE("TensorsHasher rehashes an edited model from its first changing tensor on", "[hash]") {
    std::map<std::string, HostTensor> m;
    for (const char* name : {"a", "blocks.1.w", "blocks.2.w", "head"})
        m[name] = HostTensor{{2, 3}, std::vector<float>{1, 2, 3, 4, 5, float(std::string(name).size())}};
    const vitedit::TensorsHasher hasher(m, {"blocks.2.w", "blocks.1.w"});
    CHECK(hasher.hash() == vitedit::tensors_hash(m));
    CHECK(hasher.rehash(m, Unchanged{}) == hasher.hash());

    std::map<std::string, HostTensor> changed = {{"blocks.2.w", HostTensor{{2, 3}, std::vector<float>{0, 0, 0, 0, 0, 1}}}};
    auto edited = m;
    edited["blocks.2.w"] = changed["blocks.2.w"];
    const std::string want = vitedit::tensors_hash(edited);
    CHECK(want != hasher.hash());
    CHECK(hasher.rehash(m, changed) == want);
    CHECK(hasher.rehash(edited, Unchanged{}) == want);
    // Versions made one at a time hash the same.
    CHECK(hasher.rehash(m, [&](const std::string& name, const HostTensor& t) {
        return name == "blocks.2.w" ? changed.at(name) : t;
    }) == want);
    // A change before the kept state cannot be rehashed from it.
    CHECK_THROWS_AS(hasher.rehash(m, {{"a", m["a"]}}), vitedit::Error);
    CHECK_THROWS_AS(hasher.rehash(m, {{"blocks.3.w", m["a"]}}), vitedit::Error);

    // No changing tensor: rehash covers everything.
    const vitedit::TensorsHasher all(m, {});
    CHECK(all.rehash(edited, Unchanged{}) == want);
}
