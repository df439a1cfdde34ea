// vitedit — image folders in the ROOT/<class>/<image> layout.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

namespace fs = std::filesystem;

namespace vitedit {

namespace {

bool is_image_file(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const char* known[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pnm"};  // see decode_image
    for (const char* k : known)
        if (ext == k) return true;
    return false;
}

}  // namespace

bool parse_class_folder(const std::string& name, int* index, std::string* class_name) {
    size_t i = 0;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
    if (i == 0 || i > 7) return false;
    const int idx = std::stoi(name.substr(0, i));
    size_t j = i;
    while (j < name.size() && (name[j] == '_' || name[j] == '-' || name[j] == ' ' || name[j] == '.')) ++j;
    if (j == i && j < name.size()) return false;  // "3dress": the index must end at a separator
    if (index) *index = idx;
    if (class_name) *class_name = name.substr(j);
    return true;
}

Dataset load_image_folder(const std::string& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw Error(root + ": not a directory");
    std::map<int, std::pair<fs::path, std::string>> classes;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || name[0] == '.' || !e.is_directory()) continue;
        int idx = 0;
        std::string cname;
        if (!parse_class_folder(name, &idx, &cname))
            throw Error(root + ": class folder '" + name + "' does not start with its class index (e.g. '3' or '3_dress')");
        auto [it, fresh] = classes.emplace(idx, std::make_pair(e.path(), cname));
        if (!fresh)
            throw Error(root + ": class index " + std::to_string(idx) + " is used by both '" +
                        it->second.first.filename().string() + "' and '" + name + "'");
    }
    if (ec) throw Error(root + ": cannot list (" + ec.message() + ")");
    if (classes.empty()) throw Error(root + ": no class folders (expected ROOT/<index>[_name]/<image>)");

    Dataset d;
    d.spec = root;
    d.class_names.assign(static_cast<size_t>(classes.rbegin()->first) + 1, "");
    for (const auto& [idx, entry] : classes) {
        d.class_names[idx] = entry.second;
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(entry.first, ec)) {
            const std::string name = f.path().filename().string();
            if (name.empty() || name[0] == '.' || !f.is_regular_file() || !is_image_file(f.path())) continue;
            files.push_back(f.path());
        }
        if (ec) throw Error(entry.first.string() + ": cannot list (" + ec.message() + ")");
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            d.images.push_back(load_image(f.string()));
            d.labels.push_back(idx);
            d.sources.push_back(f.string());
        }
    }
    if (d.images.empty()) throw Error(root + ": the class folders hold no images");
    return d;
}

}  // namespace vitedit
