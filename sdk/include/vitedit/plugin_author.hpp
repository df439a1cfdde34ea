// vitedit — C++ side for locator and editor authors.
//
// Derive from vitedit::author::Locator or vitedit::author::Editor, read your options from
// vitedit::author::Options in the constructor, and export the C table with
// VITEDIT_DEFINE_LOCATOR / VITEDIT_DEFINE_EDITOR. Exceptions never cross the library boundary:
// the thunks turn them into a status and a message the host shows with your plugin's name.
//
//   struct MyLocator : vitedit::author::Locator {
//       explicit MyLocator(vitedit::author::Options& o) : gain_(o.number("gain", 1.0, 0, 10)) {}
//       void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override { ... }
//       double gain_;
//   };
//   VITEDIT_DEFINE_LOCATOR(MyLocator, "mine", "one line about it", "1.0")
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/dll/alias.hpp>

#include "vitedit/backend.hpp"
#include "vitedit/plugin.h"

namespace vitedit::author {

// "key=value,key=value" with typed, range-checked getters. finish() refuses keys nobody read,
// listing the keys the plugin knows.
class Options {
public:
    explicit Options(const char* config) {
        std::stringstream ss(config ? config : "");
        std::string item;
        while (std::getline(ss, item, ',')) {
            if (item.find_first_not_of(" \t") == std::string::npos) continue;
            auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0) throw std::invalid_argument("option '" + item + "' is not key=value");
            std::string key = trim(item.substr(0, eq));
            if (values_.count(key)) throw std::invalid_argument("option '" + key + "' given twice");
            values_[key] = trim(item.substr(eq + 1));
        }
    }
    double number(const std::string& key, double fallback, double lo, double hi) {
        known_.push_back(key + " (number in [" + fmt(lo) + ", " + fmt(hi) + "], default " + fmt(fallback) + ")");
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        used_.push_back(key);
        double v;
        try {
            size_t used = 0;
            v = std::stod(it->second, &used);
            if (used != it->second.size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw std::invalid_argument("option " + key + "='" + it->second + "' is not a number");
        }
        if (!(v >= lo && v <= hi))
            throw std::invalid_argument("option " + key + "=" + it->second + " is out of range [" + fmt(lo) + ", " + fmt(hi) + "]");
        return v;
    }
    int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
        double v = number(key, static_cast<double>(fallback), static_cast<double>(lo), static_cast<double>(hi));
        known_.back() = key + " (integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], default " +
                        std::to_string(fallback) + ")";
        if (v != std::floor(v)) throw std::invalid_argument("option " + key + " must be an integer");
        return static_cast<int64_t>(v);
    }
    std::string text(const std::string& key, const std::string& fallback) {
        known_.push_back(key + " (text, default '" + fallback + "')");
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        used_.push_back(key);
        return it->second;
    }
    void finish() const {
        for (const auto& [k, v] : values_) {
            bool ok = false;
            for (const auto& u : used_) ok = ok || u == k;
            if (!ok) {
                std::string msg = "unknown option '" + k + "'; known options: ";
                for (size_t i = 0; i < known_.size(); ++i) msg += (i ? ", " : "") + known_[i];
                if (known_.empty()) msg += "none";
                throw std::invalid_argument(msg);
            }
        }
    }

private:
    static std::string trim(const std::string& s) {
        size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
        return a == std::string::npos ? "" : s.substr(a, b - a + 1);
    }
    static std::string fmt(double v) {
        std::ostringstream o;
        o << v;
        return o.str();
    }
    std::map<std::string, std::string> values_;
    std::vector<std::string> used_, known_;
};

// The edit session, C++ side.
class Session {
public:
    explicit Session(const ve_edit_session* s) : s_(s) {}
    const ve_edit_session& raw() const { return *s_; }
    Backend& backend() const { return *shared_backend(); }
    int num_sites() const { return s_->num_sites; }
    int num_images() const { return s_->num_images; }
    int num_classes() const { return s_->num_classes; }
    int feature_dim() const { return s_->feature_dim; }
    int32_t label(int i) const { return s_->labels[i]; }
    uint64_t seed() const { return s_->seed; }
    std::string model_id() const { return s_->model_id ? s_->model_id : ""; }
    std::string model_path() const { return s_->model_path ? s_->model_path : ""; }

    ve_site site(int i) const {
        ve_site out{};
        check(s_->get_site(s_->session, i, &out));
        return out;
    }
    Tensor weight(int i) const { return tensor(s_->site_weight, i); }
    Tensor original(int i) const { return tensor(s_->site_original, i); }
    Tensor grad(int i) const { return tensor(s_->site_grad, i); }
    // The masked units' gradient in compact form (see ve_edit_session.site_grad_units), or an
    // undefined Tensor where the host cannot provide it (then use grad()).
    Tensor grad_units(int i) const {
        if (s_->struct_size < offsetof(ve_edit_session, site_grad_units) + sizeof(void*) || !s_->site_grad_units) return {};
        ve_tensor t{};
        const ve_status st = s_->site_grad_units(s_->session, i, &t);
        if (st == VE_ERR_UNSUPPORTED) return {};
        check(st);
        return Tensor::wrap(shared_backend(), t);
    }
    Tensor mask(int i) const { return tensor(s_->site_mask, i); }
    ve_edit_eval evaluate(bool want_grads) const {
        ve_edit_eval e{};
        e.struct_size = sizeof e;
        check(s_->evaluate(s_->session, want_grads ? 1 : 0, &e));
        return e;
    }
    // The original model's CLS features, [num_images * feature_dim].
    std::vector<float> features() const {
        std::vector<float> f(static_cast<size_t>(num_images()) * feature_dim());
        check(s_->features(s_->session, f.data()));
        return f;
    }

private:
    void check(ve_status st) const {
        if (st != VE_OK) throw std::runtime_error(std::string("host: ") + s_->last_error(s_->session));
    }
    Tensor tensor(ve_status (*get)(void*, int32_t, ve_tensor*), int i) const {
        ve_tensor t{};
        check(get(s_->session, i, &t));
        return Tensor::wrap(shared_backend(), t);
    }
    const ve_edit_session* s_;
    // Borrowed on first use: a plugin that never touches a tensor (the `all` locator) then links
    // nothing of the SDK library's C++ side.
    const std::shared_ptr<Backend>& shared_backend() const {
        if (!be_) be_ = Backend::borrow(*s_->backend);
        return be_;
    }
    mutable std::shared_ptr<Backend> be_;
};

class Locator {
public:
    using Scores = std::vector<std::vector<float>>;  // one vector per site, `units` entries each
    virtual ~Locator() = default;
    // Fill scores (already sized); set binary = true when they are the final 0/1 mask.
    virtual void locate(Session& session, Scores& scores, bool& binary) = 0;
    const ve_host_api* host = nullptr;
    std::string last_error;
};

class Editor {
public:
    virtual ~Editor() = default;
    virtual ve_edit_report edit(Session& session) = 0;
    const ve_host_api* host = nullptr;
    std::string last_error;
};

namespace detail {

inline void write_message(char* dst, uint64_t len, const std::string& msg) {
    if (!dst || len == 0) return;
    size_t n = std::min<size_t>(msg.size(), static_cast<size_t>(len - 1));
    std::copy(msg.data(), msg.data() + n, dst);
    dst[n] = '\0';
}

template <class Impl, class Base>
ve_status create(const ve_host_api* host, const char* config, ve_plugin_instance* out, char* err, uint64_t err_len) noexcept {
    try {
        Options opts(config);
        auto* impl = new Impl(opts);
        try {
            opts.finish();
        } catch (...) {
            delete impl;
            throw;
        }
        impl->host = host;
        out->struct_size = sizeof(ve_plugin_instance);
        out->ctx = static_cast<Base*>(impl);
        return VE_OK;
    } catch (const std::invalid_argument& e) {
        write_message(err, err_len, e.what());
        return VE_ERR_INVALID;
    } catch (const std::exception& e) {
        write_message(err, err_len, e.what());
        return VE_ERR_INTERNAL;
    } catch (...) {
        write_message(err, err_len, "unknown exception");
        return VE_ERR_INTERNAL;
    }
}

template <class Base, class F>
ve_status guard(void* ctx, F&& f) noexcept {
    Base* b = static_cast<Base*>(ctx);
    try {
        f(b);
        return VE_OK;
    } catch (const std::exception& e) {
        b->last_error = e.what();
        return VE_ERR_INTERNAL;
    } catch (...) {
        b->last_error = "unknown exception";
        return VE_ERR_INTERNAL;
    }
}

inline ve_status locate(void* ctx, const ve_edit_session* s, float* const* scores, int32_t* binary) noexcept {
    return guard<Locator>(ctx, [&](Locator* loc) {
        Session session(s);
        Locator::Scores sc(session.num_sites());
        for (int i = 0; i < session.num_sites(); ++i) sc[i].assign(session.site(i).units, 0.0f);
        bool bin = false;
        loc->locate(session, sc, bin);
        for (int i = 0; i < session.num_sites(); ++i) {
            if (sc[i].size() != static_cast<size_t>(session.site(i).units))
                throw std::runtime_error("scores of site " + std::to_string(i) + " have the wrong size");
            std::copy(sc[i].begin(), sc[i].end(), scores[i]);
        }
        *binary = bin ? 1 : 0;
    });
}

inline ve_status edit(void* ctx, const ve_edit_session* s, ve_edit_report* report) noexcept {
    return guard<Editor>(ctx, [&](Editor* ed) {
        Session session(s);
        *report = ed->edit(session);
        report->struct_size = sizeof(ve_edit_report);
    });
}

}  // namespace detail
}  // namespace vitedit::author

#define VITEDIT_DEFINE_PLUGIN_(IMPL, BASE, ENTRY_T, KIND, ACTION, NAME, DESCRIPTION, VERSION)           \
    namespace {                                                                                     \
    const ENTRY_T vitedit_entry_ = {                                                                \
        sizeof(ENTRY_T), &::vitedit::author::detail::create<IMPL, ::vitedit::author::BASE>,          \
        [](void* ctx) noexcept { delete static_cast<::vitedit::author::BASE*>(ctx); },              \
        &::vitedit::author::detail::ACTION,                                                         \
        [](void* ctx) noexcept { return static_cast<::vitedit::author::BASE*>(ctx)->last_error.c_str(); }}; \
    const ve_plugin_info vitedit_info_ = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, \
                                          KIND, NAME, DESCRIPTION, VERSION, &vitedit_entry_};       \
    const ve_plugin_info* vitedit_plugin_query_() { return &vitedit_info_; }                        \
    }                                                                                               \
    BOOST_DLL_ALIAS(vitedit_plugin_query_, vitedit_query)

// IMPL: a vitedit::author::Locator constructible from (vitedit::author::Options&).
#define VITEDIT_DEFINE_LOCATOR(IMPL, NAME, DESCRIPTION, VERSION) \
    VITEDIT_DEFINE_PLUGIN_(IMPL, Locator, ve_locator_entry, VE_KIND_LOCATOR, locate, NAME, DESCRIPTION, VERSION)
// IMPL: a vitedit::author::Editor constructible from (vitedit::author::Options&).
#define VITEDIT_DEFINE_EDITOR(IMPL, NAME, DESCRIPTION, VERSION) \
    VITEDIT_DEFINE_PLUGIN_(IMPL, Editor, ve_editor_entry, VE_KIND_EDITOR, edit, NAME, DESCRIPTION, VERSION)
