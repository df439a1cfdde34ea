// vitedit — data specs: `fmnist:train`, `fmnist:test`, or an image folder.
#include <algorithm>
#include <filesystem>
#include <system_error>

#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

namespace vitedit {

int Dataset::num_classes() const {
    int k = static_cast<int>(class_names.size());
    for (int32_t l : labels) k = std::max(k, l + 1);
    return k;
}

DataSpec parse_data_spec(const std::string& spec) {
    static const char* forms = "use fmnist:train, fmnist:test, or an image folder ROOT/<class index>[_name]/<image>";
    DataSpec s;
    s.text = spec;
    if (spec.empty()) throw Error(std::string("empty data spec (") + forms + ")");
    if (spec.rfind("fmnist:", 0) == 0) {
        s.kind = DataSpec::Fmnist;
        s.split = spec.substr(7);
        if (s.split != "train" && s.split != "test")
            throw Error("data spec '" + spec + "': unknown Fashion-MNIST split '" + s.split + "' (" + forms + ")");
        return s;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(spec, ec)) {
        s.kind = DataSpec::Folder;
        s.path = spec;
        return s;
    }
    if (std::filesystem::exists(spec, ec))
        throw Error("data spec '" + spec + "' is a file, not a folder (" + forms + ")");
    throw Error("data spec '" + spec + "': no such folder (" + forms + ")");
}

Dataset load_dataset(const DataSpec& spec) {
    Dataset d = spec.kind == DataSpec::Fmnist ? load_fmnist(spec.split) : load_image_folder(spec.path);
    d.spec = spec.text;
    return d;
}

Dataset load_dataset(const std::string& spec) { return load_dataset(parse_data_spec(spec)); }

}  // namespace vitedit
