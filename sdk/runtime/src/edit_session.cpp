// vitedit — the edit session and its C services table.
#include "vitedit/edit_session.hpp"

#include "vitedit/boundary.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace vitedit {

std::vector<int> default_edit_blocks(int depth) {
    // Shallow models: the last two blocks. On the bundled 6-block model blocks 4,5 gave every
    // locator a higher GR at a higher LR than the paper's 2,3,4 (docs/bundle.md, "Sites").
    if (depth >= 2 && depth <= kShallowDepth) return {depth - 2, depth - 1};
    const int count = std::min(3, std::max(1, depth - 1));
    int first = 7 * depth / 12;
    first = std::min(first, depth - 1 - count);  // at least one block above the sites
    first = std::max(first, 0);
    std::vector<int> blocks;
    for (int b = first; b < first + count && b < depth; ++b) blocks.push_back(b);
    return blocks;
}

std::vector<EditSite> ffn_sites(const VitConfig& cfg, const std::vector<int>& blocks) {
    std::vector<EditSite> sites;
    for (int b : blocks) {
        if (b < 0 || b >= cfg.depth)
            throw Error("edit block " + std::to_string(b) + " does not exist (the model has blocks 0.." +
                        std::to_string(cfg.depth - 1) + ")");
        const std::string p = "blocks." + std::to_string(b) + ".mlp.";
        sites.push_back({p + "fc1.weight", b, VE_UNIT_ROW, cfg.mlp_hidden, cfg.dim, cfg.mlp_hidden});
        sites.push_back({p + "fc2.weight", b, VE_UNIT_COL, cfg.dim, cfg.mlp_hidden, cfg.mlp_hidden});
    }
    return sites;
}

std::vector<std::vector<float>> binarize_top_fraction(const std::vector<std::vector<float>>& scores, double sparsity) {
    if (!(sparsity > 0 && sparsity <= 1)) throw Error("sparsity must be in (0, 1], got " + std::to_string(sparsity));
    struct Ref { float score; size_t site, unit; };
    std::vector<Ref> all;
    for (size_t s = 0; s < scores.size(); ++s)
        for (size_t u = 0; u < scores[s].size(); ++u) {
            float v = scores[s][u];
            if (!std::isfinite(v)) throw Error("locator returned a non-finite score for site " + std::to_string(s));
            all.push_back({v, s, u});
        }
    const size_t k = std::max<size_t>(1, static_cast<size_t>(std::llround(sparsity * all.size())));
    std::partial_sort(all.begin(), all.begin() + std::min(k, all.size()), all.end(), [](const Ref& a, const Ref& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.site != b.site ? a.site < b.site : a.unit < b.unit;
    });
    std::vector<std::vector<float>> mask(scores.size());
    for (size_t s = 0; s < scores.size(); ++s) mask[s].assign(scores[s].size(), 0.0f);
    for (size_t i = 0; i < std::min(k, all.size()); ++i) mask[all[i].site][all[i].unit] = 1.0f;
    return mask;
}

// The C entry points: each catches everything and records the message.
struct EditSession::CTable {
    static EditSession& self(void* s) { return *static_cast<EditSession*>(s); }
    template <class F>
    static ve_status guard(void* s, F&& f) noexcept {
        try {
            f(self(s));
            return VE_OK;
        } catch (const std::exception& e) {
            boundary::thread_error() = e.what();
            return VE_ERR_INTERNAL;
        } catch (...) {
            boundary::thread_error() = "unknown exception";
            return VE_ERR_INTERNAL;
        }
    }
    static ve_status site_tensor(void* s, int32_t i, ve_tensor* out, std::vector<Tensor> EditSession::*which) {
        return guard(s, [&](EditSession& es) {
            if (i < 0 || i >= static_cast<int32_t>(es.sites_.size()) || !out) throw Error("bad site index " + std::to_string(i));
            *out = (es.*which)[i].desc();
        });
    }
    static ve_status get_site(void* s, int32_t i, ve_site* out) {
        return guard(s, [&](EditSession& es) {
            if (i < 0 || i >= static_cast<int32_t>(es.sites_.size()) || !out) throw Error("bad site index " + std::to_string(i));
            const EditSite& st = es.sites_[i];
            boundary::write_sized(out, ve_site{sizeof(ve_site), st.name.c_str(), st.block, st.unit, st.rows, st.cols, st.units});
        });
    }
    static ve_status weight(void* s, int32_t i, ve_tensor* o) { return site_tensor(s, i, o, &EditSession::weights_); }
    static ve_status original(void* s, int32_t i, ve_tensor* o) { return site_tensor(s, i, o, &EditSession::originals_); }
    static ve_status grad(void* s, int32_t i, ve_tensor* o) { return site_tensor(s, i, o, &EditSession::grads_); }
    static ve_status mask(void* s, int32_t i, ve_tensor* o) { return site_tensor(s, i, o, &EditSession::masks_); }
    static ve_status select_grad_form(void* s, int32_t i, int32_t form) {
        EditSession& es = self(s);
        try {
            if (i < 0 || i >= static_cast<int32_t>(es.sites_.size())) throw Error("bad site index " + std::to_string(i));
            if (form == VE_GRAD_FULL) {
                es.select_full_grad(i);
                return VE_OK;
            }
            if (form != VE_GRAD_UNITS) throw Error("unknown gradient form " + std::to_string(form));
            if (!es.select_unit_grad(i)) {
                boundary::thread_error() = "site " + es.sites_[i].name + ": no compact unit gradient here (use site_grad)";
                return VE_ERR_UNSUPPORTED;
            }
            return VE_OK;
        } catch (const std::exception& e) {
            boundary::thread_error() = e.what();
            return VE_ERR_INTERNAL;
        }
    }
    static ve_status grad_units(void* s, int32_t i, ve_tensor* o) {
        EditSession& es = self(s);
        if (i < 0 || i >= static_cast<int32_t>(es.sites_.size()) || !o) {
            boundary::thread_error() = "bad site index " + std::to_string(i);
            return VE_ERR_INVALID;
        }
        const Tensor t = es.unit_grad(i);
        if (!t.defined()) {
            boundary::thread_error() = "site " + es.sites_[i].name + ": its gradient form is not VE_GRAD_UNITS (select_grad_form first)";
            return VE_ERR_INVALID;
        }
        *o = t.desc();
        return VE_OK;
    }
    static ve_status evaluate(void* s, int32_t want, ve_edit_eval* out) {
        return guard(s, [&](EditSession& es) {
            const ve_edit_eval e = es.evaluate(want != 0);
            if (out) boundary::write_sized(out, e);
        });
    }
    static ve_status logits(void* s, float* out) {
        return guard(s, [&](EditSession& es) {
            if (es.logits_.empty()) throw Error("logits requested before evaluate");
            std::copy(es.logits_.begin(), es.logits_.end(), out);
        });
    }
    static ve_status features(void* s, float* out) {
        return guard(s, [&](EditSession& es) { std::copy(es.features_.begin(), es.features_.end(), out); });
    }

};

EditSession::EditSession(Vit& vit, std::vector<EditSite> sites, Tensor images, std::vector<int32_t> labels,
                         uint64_t seed, std::string model_id, bool use_prefix_cache, std::string model_path,
                         ReplayAnchor replay)
    : vit_(vit), sites_(std::move(sites)), images_(std::move(images)), labels_(std::move(labels)),
      use_cache_(use_prefix_cache), model_id_(std::move(model_id)), model_path_(std::move(model_path)) {
    const VitConfig& cfg = vit_.config();
    if (sites_.empty()) throw Error("an edit needs at least one site");
    if (images_.dim(0) != static_cast<int64_t>(labels_.size()) || labels_.empty())
        throw Error(std::to_string(labels_.size()) + " labels for " + std::to_string(images_.dim(0)) + " edit images");
    for (int32_t l : labels_)
        if (l < 0 || l >= cfg.num_classes)
            throw Error("label " + std::to_string(l) + " is out of range: the model has classes 0.." +
                        std::to_string(cfg.num_classes - 1));
    if (replay.weight < 0 || !std::isfinite(replay.weight))
        throw Error("the replay anchor's weight must be finite and >= 0, got " + std::to_string(replay.weight));
    lowest_ = cfg.depth;
    Backend& be = vit_.backend();
    if (replay.active()) {
        // One batch, edit images first: every evaluate runs both through the same blocks.
        const Shape is = images_.shape(), rs = replay.images.shape();
        if (rs.size() != is.size() || !std::equal(is.begin() + 1, is.end(), rs.begin() + 1))
            throw Error("replay images " + shape_str(rs) + " do not match the edit images " + shape_str(is));
        replay_rows_ = rs[0];
        replay_weight_ = replay.weight;
        Shape both = is;
        both[0] += replay_rows_;
        Tensor all = be.empty(both);
        be.copy(images_, all.slice(0, is[0]));
        be.copy(replay.images, all.slice(is[0], both[0]));
        images_ = all;
    }
    for (const auto& s : sites_) {
        const Tensor& w = vit_.param(s.name);
        if (w.ndim() != 2 || w.dim(0) != s.rows || w.dim(1) != s.cols)
            throw Error("site " + s.name + " is " + shape_str(w.shape()) + ", expected [" + std::to_string(s.rows) + "," +
                        std::to_string(s.cols) + "]");
        lowest_ = std::min(lowest_, s.block);
        if (s.block == cfg.depth - 1) cls_last_ = false;
        weights_.push_back(w);
        Tensor orig = be.empty(w.shape());
        be.copy(w, orig);
        originals_.push_back(orig);
        grads_.push_back(be.zeros(w.shape()));
        masks_.push_back(be.zeros({s.units}));
    }
    // The original model's CLS features (the hypernetwork's input) and the frozen prefix.
    Vit::Output first;
    if (!use_cache_) first = vit_.forward(images_);
    if (use_cache_) {
        // The prefix first, then the features from it: the same operations as one forward, but
        // every frozen weight is read once, so the backend keeps no packed copy of it (it packs
        // from a weight's second read on; ViT-B/16: 200 MB it would never read again).
        prefix_ = vit_.forward_prefix(images_, lowest_);
        first = vit_.forward_suffix(prefix_, lowest_);
        // Sites of the lowest block all in its MLP: its attention half is frozen too.
        bool mlp_only = true;
        for (const auto& s : sites_)
            if (s.block == lowest_ && s.name.find(".mlp.") == std::string::npos) mlp_only = false;
        if (mlp_only) {
            mlp_in_ = vit_.forward_attention(prefix_, lowest_);
            prefix_ = Tensor();
            // ... and once masks are set that MLP can run its masked units alone, when its sites
            // are the fc1 rows / fc2 columns (the paper's sites) and the backend has the unit ops.
            const std::string p = "blocks." + std::to_string(lowest_) + ".mlp.";
            units_ok_ = be.has_unit_ops();
            for (const auto& s : sites_)
                if (s.block == lowest_ && !(s.name == p + "fc1.weight" && s.unit == VE_UNIT_ROW) &&
                    !(s.name == p + "fc2.weight" && s.unit == VE_UNIT_COL))
                    units_ok_ = false;
        }
    }

    const int64_t N = static_cast<int64_t>(labels_.size());
    features_ = first.features.slice(0, N).download();
    if (replay_rows_ > 0) {
        // The anchor's target: the original model's softmax on the replay images.
        const int K = cfg.num_classes;
        std::vector<float> p = first.logits.slice(N, N + replay_rows_).download();
        for (int64_t r = 0; r < replay_rows_; ++r) {
            float* row = &p[static_cast<size_t>(r * K)];
            const float m = *std::max_element(row, row + K);
            double z = 0;
            for (int k = 0; k < K; ++k) z += std::exp(static_cast<double>(row[k] - m));
            for (int k = 0; k < K; ++k) row[k] = static_cast<float>(std::exp(static_cast<double>(row[k] - m)) / z);
        }
        replay_target_ = be.empty({replay_rows_, K});
        replay_target_.upload(p);
    }
    initial_ = score(first.logits, nullptr);
    initial_logits_ = logits_;

    table_.struct_size = sizeof(ve_edit_session);
    table_.session = this;
    table_.backend = &be.raw();
    table_.num_sites = static_cast<int32_t>(sites_.size());
    table_.num_images = static_cast<int32_t>(labels_.size());
    table_.num_classes = cfg.num_classes;
    table_.feature_dim = cfg.dim;
    table_.labels = labels_.data();
    table_.seed = seed;
    table_.model_id = model_id_.c_str();
    table_.model_path = model_path_.c_str();
    table_.get_site = &CTable::get_site;
    table_.site_weight = &CTable::weight;
    table_.site_original = &CTable::original;
    table_.site_grad = &CTable::grad;
    table_.site_mask = &CTable::mask;
    table_.evaluate = &CTable::evaluate;
    table_.logits = &CTable::logits;
    table_.features = &CTable::features;
    table_.last_error = &boundary::thread_error_entry;
    table_.select_grad_form = &CTable::select_grad_form;
    table_.site_grad_units = &CTable::grad_units;
}

EditSession::~EditSession() = default;

ve_edit_eval EditSession::evaluate(bool want_grads) {
    Backend& be = vit_.backend();
    const int64_t N = static_cast<int64_t>(labels_.size());
    Vit::Activations acts;
    // No site lies in the last block (checked when the session was made): it runs for the CLS row.
    acts.cls_last = cls_last_;
    Vit::Output out;
    if (use_cache_ && mlp_in_.x_mid.defined()) {
        if (units_ok_ && !units_.empty() && !mlp_units_) prepare_mlp_units();
        out = vit_.forward_from_mlp(mlp_in_, lowest_, want_grads ? &acts : nullptr, mlp_units_.get());
    } else if (use_cache_) {
        out = vit_.forward_suffix(prefix_, lowest_, want_grads ? &acts : nullptr);
    } else {
        out = vit_.forward(images_, want_grads ? &acts : nullptr);
    }
    Tensor dlogits;
    if (want_grads) dlogits = be.empty({N + replay_rows_, vit_.config().num_classes});
    const ve_edit_eval e = score(out.logits, want_grads ? &dlogits : nullptr);
    if (want_grads) {
        std::map<std::string, Tensor> grads;
        for (size_t i = 0; i < sites_.size(); ++i) grads[sites_[i].name] = grads_[i];
        vit_.backward(acts, dlogits, grads, 0.0f, units_.empty() ? nullptr : &units_, &unit_grads_);
    }
    return e;
}

ve_edit_eval EditSession::score(const Tensor& all_logits, Tensor* all_dlogits) {
    const int64_t N = static_cast<int64_t>(labels_.size());
    const Tensor logits = all_logits.slice(0, N);
    Tensor dlogits;
    if (all_dlogits) dlogits = all_dlogits->slice(0, N);
    std::vector<float> losses = vit_.backend().cross_entropy(logits, labels_, 0.0f, all_dlogits ? &dlogits : nullptr, 1.0f / N);
    double anchor = 0;
    if (replay_rows_ > 0) {
        const int64_t R = replay_rows_;
        Tensor dreplay;
        if (all_dlogits) dreplay = all_dlogits->slice(N, N + R);
        const std::vector<float> kl = vit_.backend().kl_div(all_logits.slice(N, N + R), replay_target_, 1.0f,
                                                            all_dlogits ? &dreplay : nullptr, replay_weight_ / R);
        for (float v : kl) anchor += v;
        anchor *= replay_weight_ / R;
    }
    logits_ = logits.download();
    ve_edit_eval e{sizeof(ve_edit_eval), 0.0f, 0, static_cast<int32_t>(N)};
    double loss = 0;
    const int K = vit_.config().num_classes;
    for (int64_t i = 0; i < N; ++i) {
        loss += losses[i] / N;
        const float* l = &logits_[i * K];
        if (std::max_element(l, l + K) - l == labels_[i]) ++e.num_correct;
    }
    e.loss = static_cast<float>(loss + anchor);
    return e;
}

void EditSession::set_masks(const std::vector<std::vector<float>>& masks) {
    if (masks.size() != sites_.size()) throw Error("masks for " + std::to_string(masks.size()) + " sites, expected " + std::to_string(sites_.size()));
    for (size_t i = 0; i < sites_.size(); ++i) {
        if (static_cast<int64_t>(masks[i].size()) != sites_[i].units)
            throw Error("mask of site " + sites_[i].name + " has " + std::to_string(masks[i].size()) + " entries, expected " +
                        std::to_string(sites_[i].units));
        masks_[i].upload(masks[i]);
    }
    // From now on only the masked neurons' gradients are computed (the rest stay zero).
    units_.clear();
    unit_grads_.clear();
    mlp_units_.reset();
    outside_hash_.clear();
    for (size_t i = 0; i < sites_.size(); ++i) {
        std::vector<int32_t>& idx = units_[sites_[i].name];
        for (size_t u = 0; u < masks[i].size(); ++u)
            if (masks[i][u] != 0.0f) idx.push_back(static_cast<int32_t>(u));
        vit_.backend().fill(grads_[i], 0.0f);
        outside_hash_.push_back(outside_mask_hash(i));
    }
}

bool EditSession::select_unit_grad(int i) {
    const EditSite& s = sites_[static_cast<size_t>(i)];
    if (unit_grads_.count(s.name)) return true;
    auto u = units_.find(s.name);
    // The engine computes compact gradients for FFN weights with the unit ops only (BlockGrads).
    if (u == units_.end() || s.name.find(".mlp.fc") == std::string::npos || !vit_.backend().has_unit_ops()) return false;
    const int64_t k = static_cast<int64_t>(u->second.size());
    unit_grads_[s.name] = vit_.backend().zeros(s.unit == VE_UNIT_ROW ? Shape{k, s.cols} : Shape{s.rows, k});
    return true;
}

void EditSession::select_full_grad(int i) { unit_grads_.erase(sites_[static_cast<size_t>(i)].name); }

Tensor EditSession::unit_grad(int i) const {
    auto it = unit_grads_.find(sites_[static_cast<size_t>(i)].name);
    return it == unit_grads_.end() ? Tensor() : it->second;
}

void EditSession::clear_masks() {
    mlp_units_.reset();
    outside_hash_.clear();
    if (units_.empty() && unit_grads_.empty()) return;
    units_.clear();
    unit_grads_.clear();
    for (const Tensor& m : masks_) vit_.backend().fill(m, 0.0f);
}

void EditSession::restore() {
    for (size_t i = 0; i < sites_.size(); ++i) vit_.backend().copy(originals_[i], weights_[i]);
    mlp_units_.reset();  // built again from these weights at the next evaluate
    for (size_t i = 0; i < outside_hash_.size(); ++i) outside_hash_[i] = outside_mask_hash(i);
}

// Block lowest_'s MLP on its masked units (units_ok_: its sites are fc1 rows / fc2 columns).
void EditSession::prepare_mlp_units() {
    std::vector<int32_t> rows1, cols2;
    for (const EditSite& st : sites_)
        if (st.block == lowest_) (st.unit == VE_UNIT_ROW ? rows1 : cols2) = units_.at(st.name);
    mlp_units_ = std::make_unique<MlpUnits>(vit_.prepare_mlp_units(mlp_in_, lowest_, rows1, cols2));
}

// FNV-1a over the bits of site i's weights, its masked units (rows or columns) read as zeros, in
// four interleaved lanes: independent multiply chains (14 M floats, ViT-B/16's six sites: ~11 ms
// instead of ~19 for one chain on the development machine).
uint64_t EditSession::outside_mask_hash(size_t i) const {
    const EditSite& st = sites_[i];
    std::vector<float> w = weights_[i].download();
    const bool rows = st.unit == VE_UNIT_ROW;
    for (int32_t u : units_.at(st.name)) {
        if (rows) std::fill_n(w.begin() + static_cast<int64_t>(u) * st.cols, st.cols, 0.0f);
        else
            for (int64_t r = 0; r < st.rows; ++r) w[static_cast<size_t>(r * st.cols + u)] = 0.0f;
    }
    constexpr uint64_t kPrime = 1099511628211ull, kBasis = 1469598103934665603ull;
    uint64_t h0 = kBasis, h1 = kBasis ^ 1, h2 = kBasis ^ 2, h3 = kBasis ^ 3;
    auto bits = [&](size_t k) {
        uint32_t b;
        std::memcpy(&b, &w[k], sizeof b);
        return b;
    };
    const size_t n = w.size(), n4 = n / 4 * 4;
    for (size_t k = 0; k < n4; k += 4) {
        h0 = (h0 ^ bits(k)) * kPrime;
        h1 = (h1 ^ bits(k + 1)) * kPrime;
        h2 = (h2 ^ bits(k + 2)) * kPrime;
        h3 = (h3 ^ bits(k + 3)) * kPrime;
    }
    for (size_t k = n4; k < n; ++k) h0 = (h0 ^ bits(k)) * kPrime;
    return ((h0 * kPrime ^ h1) * kPrime ^ h2) * kPrime ^ h3;
}

void EditSession::check_outside_masks() const {
    for (size_t i = 0; i < outside_hash_.size(); ++i)
        if (outside_mask_hash(i) != outside_hash_[i])
            throw Error("the editor changed " + sites_[i].name + " outside its masked " +
                        (sites_[i].unit == VE_UNIT_ROW ? "rows" : "columns") + ", which editors must not do");
}

bool EditSession::weights_finite() const {
    for (const auto& w : weights_)
        for (float v : w.download())
            if (!std::isfinite(v)) return false;
    return true;
}

}  // namespace vitedit
