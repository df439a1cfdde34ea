// vitedit — SHA-256 through libcrypto, and the tensors hash that identifies a model.
#include "vitedit/hash.hpp"

#include "vitedit/backend.hpp"

#include <algorithm>

#include <openssl/evp.h>

namespace vitedit {

struct Sha256::Ctx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(md); }
};

namespace {
void check(int ok, const char* what) {
    if (ok != 1) throw Error(std::string("SHA-256: ") + what + " failed (libcrypto)");
}
}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    if (!ctx_->md) throw Error("SHA-256: out of memory (libcrypto)");
    check(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr), "init");
}

Sha256::Sha256(const Sha256& other) : ctx_(std::make_unique<Ctx>()) {
    if (!ctx_->md) throw Error("SHA-256: out of memory (libcrypto)");
    check(EVP_MD_CTX_copy_ex(ctx_->md, other.ctx_->md), "copy");
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t len) {
    if (len) check(EVP_DigestUpdate(ctx_->md, data, len), "update");
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    check(EVP_DigestFinal_ex(ctx_->md, digest, &n), "final");
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += digits[digest[i] >> 4], out += digits[digest[i] & 15];
    return out;
}

namespace {

void hash_tensor(Sha256& h, const std::string& name, const HostTensor& t) {
    h.update(name.data(), name.size() + 1);  // with the NUL, so names cannot run together
    for (int64_t d : t.shape) h.update(&d, sizeof d);
    h.update(t.data.data(), t.data.size() * sizeof(float));
    t.data.drop_pages();  // streamed once: do not keep a mapped model resident for it
}

}  // namespace

std::string tensors_hash(const std::map<std::string, HostTensor>& tensors) {
    Sha256 h;
    for (const auto& [name, t] : tensors) hash_tensor(h, name, t);
    return h.hex();
}

TensorsHasher::TensorsHasher(const std::map<std::string, HostTensor>& tensors,
                             const std::vector<std::string>& changing) {
    if (!changing.empty()) first_changing_ = *std::min_element(changing.begin(), changing.end());
    Sha256 h;
    for (const auto& [name, t] : tensors) {
        if (!before_ && name >= first_changing_) before_ = std::make_unique<Sha256>(h);
        hash_tensor(h, name, t);
    }
    if (!before_) before_ = std::make_unique<Sha256>(h);
    hash_ = h.hex();
}

std::string TensorsHasher::rehash(const std::map<std::string, HostTensor>& tensors,
                                  const std::map<std::string, HostTensor>& changed) const {
    for (const auto& kv : changed) {
        if (kv.first < first_changing_)
            throw Error("rehash: tensor '" + kv.first + "' was not declared as changing");
        if (!tensors.count(kv.first)) throw Error("rehash: the model has no tensor '" + kv.first + "'");
    }
    return rehash(tensors, [&](const std::string& name, const HostTensor& t) {
        auto c = changed.find(name);
        return c == changed.end() ? t : c->second;
    });
}

std::string TensorsHasher::rehash(
    const std::map<std::string, HostTensor>& tensors,
    const std::function<HostTensor(const std::string& name, const HostTensor& t)>& version) const {
    Sha256 h(*before_);
    for (auto it = tensors.lower_bound(first_changing_); it != tensors.end(); ++it)
        hash_tensor(h, it->first, version(it->first, it->second));
    return h.hex();
}

}  // namespace vitedit
