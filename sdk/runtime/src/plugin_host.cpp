// vitedit — running locator and editor plugins.
#include "vitedit/plugin_host.hpp"

#include <chrono>
#include <cmath>

namespace vitedit {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

LocatorInstance::LocatorInstance(const Registry& registry, PluginSpec spec) : spec_(std::move(spec)) {
    record_ = &registry.find(VE_KIND_LOCATOR, spec_.name);
    entry_ = static_cast<const ve_locator_entry*>(record_->info->entry);
    // The host's own keys, common to every locator.
    PluginSpec own = spec_;
    if (auto it = own.options.find("sparsity"); it != own.options.end()) {
        try {
            size_t used = 0;
            sparsity_ = std::stod(it->second, &used);
            if (used != it->second.size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw Error("locator '" + spec_.name + "': sparsity='" + it->second + "' is not a number");
        }
        if (!(sparsity_ > 0 && sparsity_ <= 1))
            throw Error("locator '" + spec_.name + "': sparsity=" + it->second + " must be in (0, 1]");
        own.options.erase(it);
    }
    if (auto it = own.options.find("seed"); it != own.options.end()) {
        try {
            size_t used = 0;
            seed_ = std::stoull(it->second, &used);
            if (used != it->second.size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw Error("locator '" + spec_.name + "': seed='" + it->second + "' is not a non-negative integer");
        }
        own.options.erase(it);
    }
    ve_plugin_instance inst{sizeof(ve_plugin_instance), nullptr};
    const std::string cfg = own.config();
    if (entry_->create(Registry::host_api(), cfg.c_str(), &inst) != VE_OK)
        throw Error("locator '" + spec_.name + "' (" + record_->path + "): " + entry_->last_error(nullptr) +
                    " (the host also accepts sparsity and seed)");
    ctx_ = inst.ctx;
}

LocatorInstance::~LocatorInstance() {
    if (ctx_) entry_->destroy(ctx_);
}

std::vector<std::vector<float>> LocatorInstance::locate(EditSession& session) {
    const auto& sites = session.sites();
    std::vector<std::vector<float>> scores(sites.size());
    std::vector<float*> ptrs;
    for (size_t i = 0; i < sites.size(); ++i) {
        scores[i].assign(static_cast<size_t>(sites[i].units), 0.0f);
        ptrs.push_back(scores[i].data());
    }
    int32_t binary = 0;
    if (entry_->locate(ctx_, session.c_session(), ptrs.data(), &binary) != VE_OK)
        throw Error("locator '" + spec_.name + "' failed: " + entry_->last_error(ctx_));
    if (binary) {
        for (auto& s : scores)
            for (float& v : s) v = v > 0.5f ? 1.0f : 0.0f;
        return scores;
    }
    return binarize_top_fraction(scores, sparsity_);
}

EditorInstance::EditorInstance(const Registry& registry, PluginSpec spec) : spec_(std::move(spec)) {
    record_ = &registry.find(VE_KIND_EDITOR, spec_.name);
    entry_ = static_cast<const ve_editor_entry*>(record_->info->entry);
    ve_plugin_instance inst{sizeof(ve_plugin_instance), nullptr};
    const std::string cfg = spec_.config();
    if (entry_->create(Registry::host_api(), cfg.c_str(), &inst) != VE_OK)
        throw Error("editor '" + spec_.name + "' (" + record_->path + "): " + entry_->last_error(nullptr));
    ctx_ = inst.ctx;
}

EditorInstance::~EditorInstance() {
    if (ctx_) entry_->destroy(ctx_);
}

ve_edit_report EditorInstance::edit(EditSession& session) {
    ve_edit_report r{sizeof(ve_edit_report), 0, 0.0f, 0};
    if (entry_->edit(ctx_, session.c_session(), &r) != VE_OK)
        throw Error("editor '" + spec_.name + "' failed: " + entry_->last_error(ctx_));
    return r;
}

EditOutcome run_edit(EditSession& session, LocatorInstance& locator, EditorInstance& editor) {
    EditOutcome out;
    const auto t0 = std::chrono::steady_clock::now();
    session.clear_masks();  // a session edited before: the locator sees whole gradients again
    out.mask = locator.locate(session);
    out.locate_s = seconds_since(t0);
    session.set_masks(out.mask);
    const auto t1 = std::chrono::steady_clock::now();
    ve_edit_report r;
    try {
        r = editor.edit(session);
        out.edit_s = seconds_since(t1);
        session.check_outside_masks();
    } catch (const std::exception& e) {
        session.restore();
        throw Error(std::string(e.what()) + "; the model was restored");
    } catch (...) {
        session.restore();
        throw;
    }
    out.time_s = seconds_since(t0);
    if (!std::isfinite(r.loss) || !session.weights_finite()) {
        session.restore();
        throw Error("the edit produced non-finite weights or loss; the model was restored (try a smaller lr)");
    }
    out.success = r.success != 0;
    out.steps = r.steps;
    out.loss = r.loss;
    out.step_s = r.steps > 0 ? out.edit_s / r.steps : 0.0;
    return out;
}

}  // namespace vitedit
