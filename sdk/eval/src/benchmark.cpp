// vitedit evaluation — the benchmark's data and one scored edit.
#include "vitedit/eval/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <stdexcept>

#include <boost/filesystem.hpp>

#include "vitedit/dataset.hpp"
#include "vitedit/eval/metrics.hpp"
#include "vitedit/image.hpp"

namespace vitedit::eval {

namespace fs = boost::filesystem;

namespace {

void append(ModelImages& to, const Image& img, int32_t label, const VitConfig& cfg) {
    const auto x = to_model_input(img, cfg);
    to.chw.insert(to.chw.end(), x.begin(), x.end());
    to.labels.push_back(label);
    ++to.n;
}

}  // namespace

ModelImages load_model_images(const std::string& dir, const VitConfig& cfg) {
    const Dataset d = load_image_folder(dir);
    ModelImages out;
    out.chw.reserve(d.size() * static_cast<size_t>(cfg.in_chans * cfg.image_h() * cfg.image_w()));
    for (size_t i = 0; i < d.size(); ++i) append(out, d.images[i], d.labels[i], cfg);
    return out;
}

std::vector<FailureGroup> load_failure_groups(const std::string& root, const VitConfig& cfg) {
    if (!fs::is_directory(root)) throw std::runtime_error(root + ": not a directory of failure groups");
    std::vector<fs::path> dirs;
    for (fs::directory_iterator it(root), end; it != end; ++it)
        if (fs::is_directory(it->path())) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end());
    std::vector<FailureGroup> groups;
    for (const auto& d : dirs) {
        FailureGroup g;
        g.name = d.filename().string();
        std::string cls;
        if (!parse_class_folder(g.name, &g.label, &cls))
            throw std::runtime_error(d.string() + ": a group folder's name must start with its label (e.g. 6_shirt_heldout)");
        if (g.label >= cfg.num_classes) throw std::runtime_error(d.string() + ": label " + std::to_string(g.label) + " is out of range");
        std::vector<std::string> files;
        for (fs::directory_iterator it(d), end; it != end; ++it)
            if (fs::is_regular_file(it->path()) && it->path().filename().string()[0] != '.') files.push_back(it->path().string());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) append(g.images, load_image(f), g.label, cfg);
        if (g.images.n >= 1) groups.push_back(std::move(g));
    }
    if (groups.empty()) throw std::runtime_error(root + ": no failure groups found");
    return groups;
}

BenchmarkFolders benchmark_folders(const std::string& dir) {
    const fs::path d(dir);
    if (!fs::is_directory(d)) throw std::runtime_error(dir + ": no such benchmark folder");
    BenchmarkFolders f{(d / "groups").string(), (d / "locality-typical").string(), (d / "locality-sensitive").string()};
    if (!fs::is_directory(f.typical) && fs::is_directory(d / "locality"))
        throw std::runtime_error(dir + " has the old layout (one locality/ folder, the narrow-margin set): rebuild it with "
                                 "`vitedit bench-data`, which writes locality-typical/ and locality-sensitive/");
    for (const auto& p : {f.groups, f.typical, f.sensitive})
        if (!fs::is_directory(p)) throw std::runtime_error(dir + ": missing " + fs::path(p).filename().string() + "/ (written by `vitedit bench-data`)");
    return f;
}

Benchmark::Benchmark(Vit& vit, std::vector<FailureGroup> groups, const ModelImages& typical, const ModelImages& sensitive,
                     Options options)
    : vit_(vit), groups_(std::move(groups)), options_(std::move(options)) {
    if (options_.blocks.empty()) throw std::invalid_argument("Benchmark: no edit blocks");
    sites_ = ffn_sites(vit.config(), options_.blocks);
    const int lowest = *std::min_element(options_.blocks.begin(), options_.blocks.end());
    // One cache budget for every set, spent in this order: the locality sets, then the groups.
    // The sites are FFN matrices, so the lowest edit block's attention half is frozen as well.
    int64_t budget = options_.cache_budget_bytes;
    auto make = [&](const ModelImages& m) {
        auto s = std::make_unique<ImageSet>(vit_, m.chw, m.n, lowest, 128, budget, ImageSet::Frozen::below_mlp_of_from);
        cached_ += s->cached_images();
        total_images_ += s->size();
        if (budget >= 0) budget = std::max<int64_t>(0, budget - s->cached_bytes());
        return s;
    };
    typical_ = make(typical);
    sensitive_ = make(sensitive);
    typical_before_ = typical_->predict();
    sensitive_before_ = sensitive_->predict();
    const int k = options_.edit_set_size;
    if (k < 1) throw std::invalid_argument("Benchmark: edit sets need at least one image, got " + std::to_string(k));
    std::mt19937_64 rng(options_.seed);
    const int m = options_.max_edits_per_group;
    for (const auto& g : groups_) {
        group_sets_.push_back(make(g.images));
        std::vector<int64_t> idx(static_cast<size_t>(g.images.n));
        std::iota(idx.begin(), idx.end(), 0);
        std::vector<std::vector<int64_t>> sets;
        if (k == 1) {
            // One image per edit: a seeded choice of m of them, in index order.
            if (m > 0 && static_cast<int64_t>(idx.size()) > m) {
                std::shuffle(idx.begin(), idx.end(), rng);
                idx.resize(static_cast<size_t>(m));
                std::sort(idx.begin(), idx.end());
            }
            for (int64_t i : idx) sets.push_back({i});
        } else {
            // Disjoint sets of k from a seeded shuffle, leaving at least one image for the GR.
            std::shuffle(idx.begin(), idx.end(), rng);
            int64_t count = (g.images.n - 1) / k;
            if (m > 0) count = std::min<int64_t>(count, m);
            for (int64_t s = 0; s < count; ++s) {
                std::vector<int64_t> set(idx.begin() + s * k, idx.begin() + (s + 1) * k);
                std::sort(set.begin(), set.end());
                sets.push_back(set);
            }
        }
        edit_sets_.push_back(sets);
    }
    if (options_.replay_weight < 0) throw std::invalid_argument("Benchmark: the replay weight must be >= 0");
    if (options_.replay_weight > 0 && options_.replay.n > 0)
        replay_ = vit_.upload_images(options_.replay.chw, options_.replay.n);
}

size_t Benchmark::edits_per_run() const {
    size_t n = 0;
    for (const auto& e : edit_sets_) n += e.size();
    return n;
}

std::vector<BenchJob> Benchmark::jobs(size_t runs) const {
    std::vector<BenchJob> out;
    for (size_t r = 0; r < runs; ++r)
        for (size_t g = 0; g < groups_.size(); ++g)
            for (size_t e = 0; e < edit_sets_[g].size(); ++e) out.push_back({r, g, e});
    return out;
}

EditRecord Benchmark::run(const BenchJob& job, LocatorInstance& locator, EditorInstance& editor) {
    const FailureGroup& g = groups_.at(job.group);
    const std::vector<int64_t>& set = edit_sets_.at(job.group).at(job.set);
    const int64_t per = static_cast<int64_t>(g.images.chw.size()) / g.images.n;
    std::vector<float> x;
    for (int64_t i : set) x.insert(x.end(), g.images.chw.begin() + i * per, g.images.chw.begin() + (i + 1) * per);
    const int64_t n = static_cast<int64_t>(set.size());
    EditSession session(vit_, sites_, vit_.upload_images(x, n), std::vector<int32_t>(set.size(), g.label), locator.seed(),
                        options_.model_id, true, options_.model_path, {replay_, options_.replay_weight});
    const EditOutcome r = run_edit(session, locator, editor);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> gp = group_sets_[job.group]->predict();
    EditRecord rec;
    rec.lr = locality_rate(typical_->predict(), typical_before_);
    rec.lr_sensitive = locality_rate(sensitive_->predict(), sensitive_before_);
    rec.eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    session.restore();
    rec.group = job.group;
    rec.image = set.front();
    rec.images = set;
    int64_t fixed = 0;
    for (int64_t i : set) fixed += gp[static_cast<size_t>(i)] == g.label;
    rec.sr = static_cast<double>(fixed) / static_cast<double>(n);
    const double gr = generalization_rate(gp, g.label, set);
    rec.has_gr = gr >= 0;
    rec.gr = rec.has_gr ? gr : 0.0;
    rec.time_s = r.time_s;
    rec.steps = r.steps;
    return rec;
}

std::vector<std::pair<size_t, EditRecord>> run_jobs(
    Benchmark& bench, const Registry& registry, const std::vector<BenchRun>& runs, const std::vector<BenchJob>& jobs,
    size_t rank, size_t stride, const std::function<void(int64_t, const EditRecord&, const BenchRun&)>& on_done) {
    std::vector<std::unique_ptr<LocatorInstance>> locators(runs.size());
    std::vector<std::unique_ptr<EditorInstance>> editors(runs.size());
    std::vector<std::pair<size_t, EditRecord>> out;
    int64_t done = 0;
    for (size_t j = rank; j < jobs.size(); j += stride) {
        const BenchJob& job = jobs[j];
        const BenchRun& run = runs.at(job.run);
        if (!locators[job.run]) {
            locators[job.run] = std::make_unique<LocatorInstance>(registry, run.locator);
            editors[job.run] = std::make_unique<EditorInstance>(registry, run.editor);
        }
        out.emplace_back(j, bench.run(job, *locators[job.run], *editors[job.run]));
        if (on_done) on_done(++done, out.back().second, run);
    }
    return out;
}

}  // namespace vitedit::eval
