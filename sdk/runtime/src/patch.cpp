// vitedit — patch files.
#include "vitedit/patch.hpp"

#include <cstring>

#include <nlohmann/json.hpp>

#include "vitedit/backend.hpp"
#include "vitedit/hash.hpp"

namespace vitedit {

namespace {

const char* unit_name(int unit) { return unit == VE_UNIT_COL ? "col" : "row"; }

// Copies unit `fu` of `from` into unit `tu` of `to` (a row or a column; both are [rows, cols]
// matrices sharing the other dimension): between a weight and a patch's value slab, either way.
void move_unit(const HostTensor& from, int64_t fu, HostTensor& to, int64_t tu, int unit) {
    const int64_t fr = from.shape[0], fc = from.shape[1], tc = to.shape[1];
    float* dst = to.data.mutable_data();
    if (unit == VE_UNIT_ROW) {
        std::memcpy(dst + tu * tc, &from.data[fu * fc], static_cast<size_t>(fc) * sizeof(float));
    } else {
        for (int64_t r = 0; r < fr; ++r) dst[r * tc + tu] = from.data[r * fc + fu];
    }
}

const HostTensor& site_tensor(const std::map<std::string, HostTensor>& t, const std::string& name) {
    auto it = t.find(name);
    if (it == t.end() || it->second.shape.size() != 2) throw Error("the model has no 2-D tensor '" + name + "'");
    return it->second;
}

std::map<std::string, HostTensor> swap_in(std::map<std::string, HostTensor> tensors, const Patch& p, bool forward) {
    const std::string expect = forward ? p.base_hash : p.edited_hash;
    std::vector<std::string> names;
    for (const auto& s : p.sites) names.push_back(s.name);
    const TensorsHasher hasher(tensors, names);  // the result then rehashes from the first site on
    const std::string& have = hasher.hash();
    if (have != expect)
        throw Error(std::string("this patch ") + (forward ? "applies to" : "reverts from") + " the model with hash " +
                    expect.substr(0, 16) + "..., but the given model's hash is " + have.substr(0, 16) +
                    "... (a different model or already " + (forward ? "patched" : "reverted") + ")");
    for (const auto& s : p.sites) {
        HostTensor& w = tensors.at(s.name);
        const HostTensor& src = forward ? s.new_values : s.old_values;
        for (size_t j = 0; j < s.indices.size(); ++j) move_unit(src, static_cast<int64_t>(j), w, s.indices[j], s.unit);
    }
    const std::string result = hasher.rehash(tensors, std::map<std::string, HostTensor>{});
    if (result != (forward ? p.edited_hash : p.base_hash))
        throw Error("the patch did not reproduce the expected model (hash mismatch): the patch file is inconsistent");
    return tensors;
}

}  // namespace

Patch make_patch(const std::map<std::string, HostTensor>& before, const std::map<std::string, HostTensor>& after,
                 const std::vector<EditSite>& sites, std::map<std::string, std::string> provenance) {
    // Anything outside the sites must be identical: a patch cannot describe other changes.
    for (const auto& [name, t] : before) {
        bool is_site = false;
        for (const auto& s : sites) is_site = is_site || s.name == name;
        auto it = after.find(name);
        if (it == after.end() || (!is_site && (it->second.shape != t.shape ||
                                               std::memcmp(it->second.data.data(), t.data.data(), t.data.size() * sizeof(float)) != 0)))
            throw Error("tensor '" + name + "' changed outside the edit sites; a patch cannot represent that");
    }
    return make_patch(before, tensors_hash(before), [&](const std::string& name) { return site_tensor(after, name); },
                      tensors_hash(after), sites, std::move(provenance));
}

Patch make_patch(const std::map<std::string, HostTensor>& before, std::string base_hash,
                 const std::function<HostTensor(const std::string& site)>& edited_site, std::string edited_hash,
                 const std::vector<EditSite>& sites, std::map<std::string, std::string> provenance) {
    Patch p;
    p.base_hash = std::move(base_hash);
    p.edited_hash = std::move(edited_hash);
    p.provenance = std::move(provenance);
    for (const auto& site : sites) {
        const HostTensor& a = site_tensor(before, site.name);
        const HostTensor b = edited_site(site.name);
        if (b.shape != a.shape)
            throw Error("the edited " + site.name + " is " + shape_str(b.shape) + ", the model's " + shape_str(a.shape));
        PatchSite ps;
        ps.name = site.name;
        ps.unit = site.unit;
        const int64_t R = a.shape[0], C = a.shape[1], units = site.unit == VE_UNIT_COL ? C : R;
        for (int64_t u = 0; u < units; ++u) {
            bool changed = false;
            for (int64_t e = 0; e < (site.unit == VE_UNIT_COL ? R : C) && !changed; ++e) {
                const size_t k = site.unit == VE_UNIT_COL ? static_cast<size_t>(e * C + u) : static_cast<size_t>(u * C + e);
                changed = std::memcmp(&a.data[k], &b.data[k], sizeof(float)) != 0;
            }
            if (changed) ps.indices.push_back(u);
        }
        const int64_t k = static_cast<int64_t>(ps.indices.size());
        const std::vector<int64_t> shape = site.unit == VE_UNIT_COL ? std::vector<int64_t>{R, k} : std::vector<int64_t>{k, C};
        ps.old_values = HostTensor{shape, FloatBuffer::uninitialized(static_cast<size_t>(R * C / units * k))};
        ps.new_values = HostTensor{shape, FloatBuffer::uninitialized(static_cast<size_t>(R * C / units * k))};
        for (int64_t j = 0; j < k; ++j) {
            move_unit(a, ps.indices[j], ps.old_values, j, site.unit);
            move_unit(b, ps.indices[j], ps.new_values, j, site.unit);
        }
        a.data.drop_pages();  // compared once: a mapped model's pages need not stay
        p.sites.push_back(std::move(ps));
    }
    return p;
}

void save_patch(const std::string& path, const Patch& p) {
    SafeTensorsFile f;
    nlohmann::json sites = nlohmann::json::object();
    for (const auto& s : p.sites) {
        sites[s.name] = {{"unit", unit_name(s.unit)}, {"indices", s.indices}};
        if (!s.indices.empty()) {
            f.tensors[s.name + ".old"] = s.old_values;
            f.tensors[s.name + ".new"] = s.new_values;
        }
    }
    f.metadata["vitedit.patch"] = "1";
    f.metadata["vitedit.patch.sites"] = sites.dump();
    f.metadata["vitedit.patch.base_hash"] = p.base_hash;
    f.metadata["vitedit.patch.edited_hash"] = p.edited_hash;
    f.metadata["vitedit.patch.provenance"] = nlohmann::json(p.provenance).dump();
    write_safetensors(path, f);
}

Patch load_patch(const std::string& path) { return patch_from_safetensors(read_safetensors(path), path); }

Patch patch_from_safetensors(const SafeTensorsFile& f, const std::string& path) {
    auto meta = [&](const char* key) -> const std::string& {
        auto it = f.metadata.find(key);
        if (it == f.metadata.end()) throw Error(path + ": not a vitedit patch (no '" + key + "' metadata)");
        return it->second;
    };
    if (meta("vitedit.patch") != "1") throw Error(path + ": unsupported patch version " + meta("vitedit.patch"));
    Patch p;
    p.base_hash = meta("vitedit.patch.base_hash");
    p.edited_hash = meta("vitedit.patch.edited_hash");
    try {
        p.provenance = nlohmann::json::parse(meta("vitedit.patch.provenance")).get<std::map<std::string, std::string>>();
        const auto sites = nlohmann::json::parse(meta("vitedit.patch.sites"));
        for (auto it = sites.begin(); it != sites.end(); ++it) {
            PatchSite s;
            s.name = it.key();
            const std::string unit = it.value().at("unit").get<std::string>();
            if (unit != "row" && unit != "col") throw Error("unit '" + unit + "'");
            s.unit = unit == "col" ? VE_UNIT_COL : VE_UNIT_ROW;
            s.indices = it.value().at("indices").get<std::vector<int64_t>>();
            if (!s.indices.empty()) {
                auto o = f.tensors.find(s.name + ".old"), n = f.tensors.find(s.name + ".new");
                if (o == f.tensors.end() || n == f.tensors.end()) throw Error("missing values for " + s.name);
                s.old_values = o->second;
                s.new_values = n->second;
                const size_t k = s.indices.size();
                const auto& sh = s.old_values.shape;
                if (sh.size() != 2 || s.new_values.shape != sh || static_cast<size_t>(s.unit == VE_UNIT_COL ? sh[1] : sh[0]) != k)
                    throw Error("values of " + s.name + " have shape " + shape_str(sh) + " for " + std::to_string(k) + " units");
            }
            p.sites.push_back(std::move(s));
        }
    } catch (const std::exception& e) {
        throw Error(path + ": malformed patch: " + e.what());
    }
    return p;
}

static void check_fits(const std::map<std::string, HostTensor>& t, const Patch& p) {
    for (const auto& s : p.sites) {
        const HostTensor& w = site_tensor(t, s.name);
        const int64_t units = s.unit == VE_UNIT_COL ? w.shape[1] : w.shape[0];
        for (int64_t u : s.indices)
            if (u < 0 || u >= units) throw Error("patch index " + std::to_string(u) + " is out of range for " + s.name);
        if (!s.indices.empty() && (s.unit == VE_UNIT_COL ? s.old_values.shape[0] != w.shape[0] : s.old_values.shape[1] != w.shape[1]))
            throw Error("patch values do not fit " + s.name + " " + shape_str(w.shape));
    }
}

std::map<std::string, HostTensor> apply_patch(std::map<std::string, HostTensor> tensors, const Patch& patch) {
    check_fits(tensors, patch);
    return swap_in(std::move(tensors), patch, true);
}

std::map<std::string, HostTensor> revert_patch(std::map<std::string, HostTensor> tensors, const Patch& patch) {
    check_fits(tensors, patch);
    return swap_in(std::move(tensors), patch, false);
}

}  // namespace vitedit
