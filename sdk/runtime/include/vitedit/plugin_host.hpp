// vitedit — the host side of locator and editor plugins: chain specs, instances, one edit.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vitedit/edit_session.hpp"
#include "vitedit/registry.hpp"

namespace vitedit {

// "NAME[:key=val,...]" as given to --locator / --editor.
struct PluginSpec {
    std::string name;
    std::map<std::string, std::string> options;
    std::string config() const;  // "key=val,..." in key order
};
PluginSpec parse_plugin_spec(const std::string& text, const std::string& what);

// A created locator; its create() saw every option except the host's own (sparsity, seed).
class LocatorInstance {
public:
    LocatorInstance(const Registry& registry, PluginSpec spec);
    ~LocatorInstance();
    LocatorInstance(const LocatorInstance&) = delete;
    LocatorInstance& operator=(const LocatorInstance&) = delete;
    const std::string& name() const { return spec_.name; }
    double sparsity() const { return sparsity_; }
    uint64_t seed() const { return seed_; }
    // The binary mask for this session: the plugin's scores, binarized at the budget unless the
    // plugin returned a ready mask.
    std::vector<std::vector<float>> locate(EditSession& session);

private:
    PluginSpec spec_;
    const PluginRecord* record_;
    const ve_locator_entry* entry_;
    void* ctx_ = nullptr;
    double sparsity_ = 0.1;
    uint64_t seed_ = 0;
};

class EditorInstance {
public:
    EditorInstance(const Registry& registry, PluginSpec spec);
    ~EditorInstance();
    EditorInstance(const EditorInstance&) = delete;
    EditorInstance& operator=(const EditorInstance&) = delete;
    const std::string& name() const { return spec_.name; }
    ve_edit_report edit(EditSession& session);

private:
    PluginSpec spec_;
    const PluginRecord* record_;
    const ve_editor_entry* entry_;
    void* ctx_ = nullptr;
};

struct EditOutcome {
    bool success = false;
    int steps = 0;
    float loss = 0;
    double locate_s = 0, edit_s = 0, time_s = 0, step_s = 0;
    std::vector<std::vector<float>> mask;
};

// Locate, set the masks, edit. A non-finite loss or weight restores the model and throws.
EditOutcome run_edit(EditSession& session, LocatorInstance& locator, EditorInstance& editor);

}  // namespace vitedit
