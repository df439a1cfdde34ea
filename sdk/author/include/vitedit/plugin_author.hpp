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

#include "vitedit/backend.hpp"
#include "vitedit/boundary.hpp"
#include "vitedit/options.hpp"
#include "vitedit/plugin.h"

namespace vitedit::author {

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
        out.struct_size = sizeof out;
        check(s_->get_site(s_->session, i, &out));
        return out;
    }
    Tensor weight(int i) const { return tensor(s_->site_weight, i); }
    Tensor original(int i) const { return tensor(s_->site_original, i); }
    Tensor grad(int i) const { return tensor(s_->site_grad, i); }
    // Asks the host to write site i's gradient in compact form from now on (see
    // ve_edit_session.select_grad_form) and returns that tensor; an undefined Tensor where the
    // host cannot (the form stays full: use grad()).
    Tensor use_grad_units(int i) const {
        const ve_status st = s_->select_grad_form(s_->session, i, VE_GRAD_UNITS);
        if (st == VE_ERR_UNSUPPORTED) return {};
        check(st);
        return tensor(s_->site_grad_units, i);
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
};

class Editor {
public:
    virtual ~Editor() = default;
    virtual ve_edit_report edit(Session& session) = 0;
    const ve_host_api* host = nullptr;
};

namespace detail {

// Runs f(), turning an exception into a status and the thread's message (abi.h's convention).
template <class F>
ve_status guard(F&& f) noexcept {
    std::string& message = boundary::thread_error();
    try {
        f();
        return VE_OK;
    } catch (const std::invalid_argument& e) {
        message = e.what();
        return VE_ERR_INVALID;
    } catch (const std::exception& e) {
        message = e.what();
        return VE_ERR_INTERNAL;
    } catch (...) {
        message = "unknown exception";
        return VE_ERR_INTERNAL;
    }
}

template <class Impl, class Base>
ve_status create(const ve_host_api* host, const char* config, ve_plugin_instance* out) noexcept {
    return guard([&] {
        Options opts(config);
        auto impl = std::make_unique<Impl>(opts);
        opts.finish();
        impl->host = host;
        ve_plugin_instance made{sizeof(ve_plugin_instance), static_cast<Base*>(impl.release())};
        boundary::write_sized(out, made);
    });
}

inline ve_status locate(void* ctx, const ve_edit_session* s, float* const* scores, int32_t* binary) noexcept {
    return guard([&] {
        Locator* loc = static_cast<Locator*>(ctx);
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
    return guard([&] {
        Session session(s);
        ve_edit_report r = static_cast<Editor*>(ctx)->edit(session);
        r.struct_size = sizeof r;
        boundary::write_sized(report, r);
    });
}

}  // namespace detail
}  // namespace vitedit::author

// The entry table, the info and the plain C entry point vitedit_query() (abi.h).
#define VITEDIT_DEFINE_PLUGIN_(IMPL, BASE, ENTRY_T, KIND, ACTION, NAME, DESCRIPTION, VERSION)           \
    namespace {                                                                                     \
    const ENTRY_T vitedit_entry_ = {                                                                \
        sizeof(ENTRY_T), &::vitedit::author::detail::create<IMPL, ::vitedit::author::BASE>,          \
        [](void* ctx) noexcept { delete static_cast<::vitedit::author::BASE*>(ctx); },              \
        &::vitedit::author::detail::ACTION, &::vitedit::boundary::thread_error_entry};              \
    const ve_plugin_info vitedit_info_ = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, \
                                          KIND, NAME, DESCRIPTION, VERSION, &vitedit_entry_};       \
    }                                                                                               \
    extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &vitedit_info_; }

// IMPL: a vitedit::author::Locator constructible from (vitedit::author::Options&).
#define VITEDIT_DEFINE_LOCATOR(IMPL, NAME, DESCRIPTION, VERSION) \
    VITEDIT_DEFINE_PLUGIN_(IMPL, Locator, ve_locator_entry, VE_KIND_LOCATOR, locate, NAME, DESCRIPTION, VERSION)
// IMPL: a vitedit::author::Editor constructible from (vitedit::author::Options&).
#define VITEDIT_DEFINE_EDITOR(IMPL, NAME, DESCRIPTION, VERSION) \
    VITEDIT_DEFINE_PLUGIN_(IMPL, Editor, ve_editor_entry, VE_KIND_EDITOR, edit, NAME, DESCRIPTION, VERSION)
