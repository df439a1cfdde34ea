// vitedit — held-out subpopulations (docs/bundle.md): appearance clusters of chosen classes,
// found by seeded k-means on pixels, one cluster per class kept out of base training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vitedit/dataset.hpp"

namespace vitedit {

// ---- k-means ----------------------------------------------------------------------------------
struct KMeansResult {
    std::vector<std::vector<float>> centroids;  // k x dim
    std::vector<int> assignment;                // per point: its nearest centroid
    std::vector<int64_t> sizes;                 // points per cluster
    int iterations = 0;
};
// Lloyd's algorithm from a k-means++ start drawn with std::mt19937_64(seed). Deterministic: the
// same points, k and seed give the same result. On return every point is assigned to its nearest
// final centroid (ties: the lowest index). Requires 1 <= k <= points.size().
KMeansResult kmeans(const std::vector<std::vector<float>>& points, int k, uint64_t seed, int max_iters = 100);
// Index of the centroid nearest to x (squared L2; ties: the lowest index).
int nearest_centroid(const std::vector<std::vector<float>>& centroids, const float* x);

// Pixels scaled to [0, 1], channels interleaved as stored: the space clusters live in.
std::vector<float> pixel_features(const Image& image);

// ---- the held-out subpopulations ---------------------------------------------------------------
struct HoldoutClass {
    int label = 0;
    int held_cluster = 0;                       // the cluster kept out of training
    std::vector<int64_t> cluster_sizes;         // train images per cluster
    std::vector<std::vector<float>> centroids;  // k x (width*height*channels)
};

struct Holdout {
    uint64_t seed = 0;
    int k = 0;
    std::string policy;              // how the held cluster was picked (see make_holdout)
    std::string train_spec, test_spec;
    int width = 0, height = 0, channels = 0;
    std::vector<HoldoutClass> classes;
    std::vector<int64_t> train_indices;  // held-out images of train_spec (sorted)
    std::vector<int64_t> test_indices;   // held-out images of test_spec (sorted; may be unset)
    bool has_test = false;

    bool empty() const { return classes.empty(); }
    std::vector<int> class_labels() const;
    // Does an image of class `label` belong to a held-out cluster (its nearest centroid among its
    // class's centroids is the held one)? False for other classes or other image sizes.
    bool contains(const Image& image, int label) const;
    // Held-out membership of every image of `data`: the recorded indices when data.spec is the
    // recorded train or test spec, otherwise nearest-centroid assignment. `how` (optional) says
    // which ("indices" or "centroids").
    std::vector<bool> membership(const Dataset& data, std::string* how = nullptr) const;

    // Compact JSON (centroids as base64 float32, little-endian) and back. from_json throws
    // vitedit::Error on malformed input.
    std::string to_json() const;
    static Holdout from_json(const std::string& json);
};

// Clusters every chosen class of `train` into k appearance clusters (k-means on pixels, seed
// derived from `seed` and the class) and picks one cluster per class to hold out. policy:
// "confusable" (default; among clusters holding >= 10% of the class, the one whose centroid is
// nearest to another class's mean image: the subpopulation most likely to be misclassified),
// "smallest", or "random" (seeded). Fills train_indices.
Holdout make_holdout(const Dataset& train, const std::vector<int>& classes, int k, uint64_t seed,
                     const std::string& policy = "confusable");
// Assigns `test` images to the held-out clusters (nearest train centroid of their class) and
// records them as test_indices / test_spec.
void assign_holdout_test(Holdout& holdout, const Dataset& test);

}  // namespace vitedit
