// vitedit evaluation — edit records to and from JSON.
#include "vitedit/eval/records_json.hpp"

namespace vitedit::eval {

nlohmann::json to_json(const EditRecord& r) {
    nlohmann::json j = {{"group", r.group}, {"image", r.image}, {"SR", r.sr}, {"LR", r.lr}, {"LR_sensitive", r.lr_sensitive},
                        {"time_s", r.time_s}, {"eval_s", r.eval_s}, {"steps", r.steps}};
    j["GR"] = r.has_gr ? nlohmann::json(r.gr) : nlohmann::json(nullptr);
    if (r.images.size() > 1) j["images"] = r.images;
    return j;
}

EditRecord record_from_json(const nlohmann::json& j) {
    EditRecord r;
    r.group = j.at("group").get<size_t>();
    r.image = j.at("image").get<int64_t>();
    r.images = j.contains("images") ? j["images"].get<std::vector<int64_t>>() : std::vector<int64_t>{r.image};
    r.sr = j.at("SR").get<double>();
    r.has_gr = !j.at("GR").is_null();
    r.gr = r.has_gr ? j["GR"].get<double>() : 0.0;
    r.lr = j.at("LR").get<double>();
    r.lr_sensitive = j.at("LR_sensitive").get<double>();
    r.time_s = j.at("time_s").get<double>();
    r.eval_s = j.value("eval_s", 0.0);
    r.steps = j.at("steps").get<int>();
    return r;
}

nlohmann::json to_json(const Summary& s) {
    return {{"SR", s.sr}, {"GR", s.gr}, {"LR", s.lr}, {"LR_sensitive", s.lr_sensitive}, {"edits", s.edits},
            {"time_s", s.time_s}, {"eval_s", s.eval_s}, {"steps", s.steps}};
}

}  // namespace vitedit::eval
