// vitedit plugins — every backend, locator and editor found, with its state.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace vitedit::cli {

int cmd_plugins(const std::vector<std::string>& args) {
    po::options_description desc("options");
    add_plugin_options(desc);
    desc.add_options()("json", "print one JSON object");
    po::variables_map vm;
    if (!parse("plugins", "[--plugin-dir DIR] [--json]", desc, args, vm)) return 0;
    const Registry& reg = registry(vm);

    struct Group { int kind; const char* key; const char* title; };
    const Group groups[] = {{VE_KIND_BACKEND, "backends", "backends"},
                            {VE_KIND_LOCATOR, "locators", "locators"},
                            {VE_KIND_EDITOR, "editors", "editors"},
                            {0, "other", "other libraries"}};
    auto in_group = [](const PluginRecord& r, int kind) {
        bool known = r.kind == VE_KIND_BACKEND || r.kind == VE_KIND_LOCATOR || r.kind == VE_KIND_EDITOR;
        return kind == 0 ? !known : r.kind == kind;
    };
    if (vm.count("json")) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& g : groups) {
            out[g.key] = nlohmann::json::array();
            for (const auto& r : reg.records()) {
                if (!in_group(r, g.kind)) continue;
                nlohmann::json j = {{"name", r.name}, {"state", r.state}, {"reason", r.reason}, {"path", r.path}};
                if (r.info) {
                    j["abi"] = std::to_string(r.info->abi_major) + "." + std::to_string(r.info->abi_minor);
                    j["description"] = r.info->description ? r.info->description : "";
                    j["version"] = r.info->version ? r.info->version : "";
                }
                if (r.kind == VE_KIND_BACKEND) j["score"] = r.score;
                out[g.key].push_back(j);
            }
        }
        std::cout << out.dump() << "\n";
        return 0;
    }
    for (const auto& g : groups) {
        bool header = false;
        for (const auto& r : reg.records()) {
            if (!in_group(r, g.kind)) continue;
            if (!header) std::cout << g.title << ":\n", header = true;
            std::string name = r.name.empty() ? "-" : r.name;
            std::cout << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << r.state;
            if (r.state == "ok" && r.info && r.info->description) std::cout << "  " << r.info->description;
            if (!r.reason.empty()) std::cout << ": " << r.reason;
            std::cout << "\n      " << r.path << "\n";
        }
        if (!header && g.kind != 0) std::cout << g.title << ": none found\n";
    }
    return 0;
}

}  // namespace vitedit::cli
