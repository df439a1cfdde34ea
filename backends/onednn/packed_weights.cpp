#include "packed_weights.hpp"

#include <algorithm>

namespace vitedit::onednn {

dnnl::memory PackedWeights::get(uintptr_t lo, uintptr_t hi, const dnnl::memory::desc& user_desc, void* user,
                                const dnnl::memory::desc& desc, const dnnl::engine& engine, dnnl::stream& stream,
                                bool first_read) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
        // The user layout is part of the key: a square W and its transpose cover the same bytes.
        return e.lo == lo && e.hi == hi && e.desc == desc && e.user_desc == user_desc;
    });
    if (it != entries_.end() && it->packed) return it->packed;
    if (it == entries_.end() && !first_read) {  // first read: note it, pack on the second
        entries_.push_back(Entry{lo, hi, user_desc, desc, dnnl::memory(), 0});
        return {};
    }
    // Second read without a write in between (or a first read worth packing): pack it, if it fits.
    const size_t bytes = desc.get_size();
    if (used_ + bytes > budget_) return {};
    dnnl::memory src(user_desc, engine, user), packed(desc, engine);
    dnnl::reorder(src, packed).execute(stream, src, packed);
    stream.wait();
    if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{lo, hi, user_desc, desc, dnnl::memory(), 0});
    it->packed = packed;
    it->bytes = bytes;
    used_ += bytes;
    return it->packed;
}

void PackedWeights::written(uintptr_t lo, uintptr_t hi) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.empty()) return;
    auto hit = [&](const Entry& e) { return e.lo < hi && lo < e.hi; };
    for (const Entry& e : entries_)  // before remove_if, which leaves the removed ones unspecified
        if (hit(e)) used_ -= e.bytes;
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), hit), entries_.end());
}

}  // namespace vitedit::onednn
