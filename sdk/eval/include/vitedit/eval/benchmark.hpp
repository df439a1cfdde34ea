// vitedit evaluation — the editing benchmark: every (run, failure group, edit image) is one
// edit from the original model, scored on the edit image (SR), on the rest of its group (GR) and
// on the two locality sets (LR on the typical set, LR_sensitive on the narrow-margin one).
//
// A benchmark folder (written by `vitedit bench-data`):
//   groups/<label>_<name>/<image>   failure groups
//   locality-typical/<label>/...    random correct predictions
//   locality-sensitive/<label>/...  the correct predictions with the smallest top-2 margin
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/eval/records.hpp"
#include "vitedit/image_set.hpp"
#include "vitedit/plugin_host.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit::eval {

// Images as the model takes them: n images [C, H, W] back to back, normalized.
struct ModelImages {
    std::vector<float> chw;
    std::vector<int32_t> labels;  // from the folder names
    int64_t n = 0;
};
// A folder <label>/<image>, converted for the model.
ModelImages load_model_images(const std::string& dir, const VitConfig& cfg);

struct FailureGroup {
    std::string name;  // its folder's name
    int label = 0;
    ModelImages images;
};
// groups/<label>_<name>/<image>, in name order; empty folders are skipped, none at all refused.
std::vector<FailureGroup> load_failure_groups(const std::string& root, const VitConfig& cfg);

struct BenchmarkFolders {
    std::string groups, typical, sensitive;
};
// The folders of a `bench-data` benchmark; an old layout (one locality/ folder) is refused with
// what to do.
BenchmarkFolders benchmark_folders(const std::string& dir);

// One point of a method's sweep: the chain it edits with.
struct BenchRun {
    std::string method;       // what comparisons call it: the locator's name, or the baseline's
    PluginSpec locator, editor;
    std::string sweep_key, sweep_value;  // empty when the method has one point
    double sparsity = 0;      // the budget in effect
};

struct BenchJob {
    size_t run = 0, group = 0;
    size_t set = 0;  // which of the group's edit sets (Benchmark::edit_sets)
};

// The evaluation state shared by all edits: the model, its sites, the groups and locality sets
// with their frozen prefix cached, and the predictions before any edit.
class Benchmark {
public:
    struct Options {
        std::vector<int> blocks;            // edit sites' blocks
        int max_edits_per_group = 0;        // 0: every image of a group (every set of edit_set_size)
        int edit_set_size = 1;              // images edited together (1: one edit per image)
        uint64_t seed = 0;                  // the choice of edit images
        // The replay anchor every edit carries (ReplayAnchor): these images, this β; none when
        // the weight is 0 or there are no images.
        ModelImages replay;
        float replay_weight = 0.0f;
        int64_t cache_budget_bytes = -1;    // one budget for every cached set (< 0: none)
        std::string model_id, model_path;
    };
    Benchmark(Vit& vit, std::vector<FailureGroup> groups, const ModelImages& typical, const ModelImages& sensitive,
              Options options);

    const std::vector<FailureGroup>& groups() const { return groups_; }
    // Per group, its edit sets: each the images of one edit (edit_set_size of them, in order).
    // A group needs one image besides a set for its GR; a set of one may use a single-image group
    // (an edit without a GR, as before there were sets).
    const std::vector<std::vector<std::vector<int64_t>>>& edit_sets() const { return edit_sets_; }
    int edit_set_size() const { return options_.edit_set_size; }
    int64_t replay_size() const { return options_.replay_weight > 0 ? options_.replay.n : 0; }
    int64_t typical_size() const { return typical_->size(); }
    int64_t sensitive_size() const { return sensitive_->size(); }
    int64_t cached_images() const { return cached_; }
    int64_t evaluation_images() const { return total_images_; }
    size_t edits_per_run() const;

    // Every job of `runs` in one fixed order: run, then group, then edit set.
    std::vector<BenchJob> jobs(size_t runs) const;
    // One edit from the original model (restored afterwards), scored.
    EditRecord run(const BenchJob& job, LocatorInstance& locator, EditorInstance& editor);

private:
    Vit& vit_;
    std::vector<FailureGroup> groups_;
    Options options_;
    std::vector<EditSite> sites_;
    std::unique_ptr<ImageSet> typical_, sensitive_;
    std::vector<int32_t> typical_before_, sensitive_before_;
    std::vector<std::unique_ptr<ImageSet>> group_sets_;
    std::vector<std::vector<std::vector<int64_t>>> edit_sets_;
    Tensor replay_;  // the replay images on the backend, uploaded once
    int64_t cached_ = 0, total_images_ = 0;
};

// Runs jobs[j] for j = rank, rank + stride, ... (every job is a pure function of its inputs, so
// ranks share a benchmark and their records add up to a single process's). Locator and editor
// instances are made once per run. `on_done(done, record, run)` after each edit.
std::vector<std::pair<size_t, EditRecord>> run_jobs(
    Benchmark& bench, const Registry& registry, const std::vector<BenchRun>& runs, const std::vector<BenchJob>& jobs,
    size_t rank, size_t stride, const std::function<void(int64_t, const EditRecord&, const BenchRun&)>& on_done = {});

}  // namespace vitedit::eval
