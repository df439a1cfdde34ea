// vitedit — seeded k-means and the held-out subpopulations (docs/bundle.md).
#include "vitedit/holdout.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "vitedit/backend.hpp"

namespace vitedit {

namespace {

double sqdist(const float* a, const float* b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - b[i];
        s += d * d;
    }
    return s;
}

const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64_floats(const std::vector<float>& v) {
    std::string bytes(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); ++i) {
        uint32_t u;
        std::memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xFF);  // little-endian
    }
    std::string out;
    for (size_t i = 0; i < bytes.size(); i += 3) {
        uint32_t n = uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        if (i + 1 < bytes.size()) n |= uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
        if (i + 2 < bytes.size()) n |= uint32_t(static_cast<unsigned char>(bytes[i + 2]));
        out += kB64[(n >> 18) & 63];
        out += kB64[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kB64[(n >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? kB64[n & 63] : '=';
    }
    return out;
}

std::vector<float> unb64_floats(const std::string& s) {
    int val[256];
    std::fill(val, val + 256, -1);
    for (int i = 0; i < 64; ++i) val[static_cast<unsigned char>(kB64[i])] = i;
    std::string bytes;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=') break;
        const int v = val[static_cast<unsigned char>(c)];
        if (v < 0) throw Error("holdout: invalid base64 in centroids");
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    if (bytes.size() % 4) throw Error("holdout: centroid data is not a whole number of float32 values");
    std::vector<float> out(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); ++i) {
        uint32_t u = 0;
        for (int b = 0; b < 4; ++b) u |= uint32_t(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
        std::memcpy(&out[i], &u, 4);
    }
    return out;
}

}  // namespace

int nearest_centroid(const std::vector<std::vector<float>>& c, const float* x) {
    int best = 0;
    double bd = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < c.size(); ++j) {
        const double d = sqdist(c[j].data(), x, c[j].size());
        if (d < bd) bd = d, best = static_cast<int>(j);
    }
    return best;
}

KMeansResult kmeans(const std::vector<std::vector<float>>& pts, int k, uint64_t seed, int max_iters) {
    const size_t n = pts.size();
    if (k < 1 || static_cast<size_t>(k) > n)
        throw Error("k-means: k = " + std::to_string(k) + " for " + std::to_string(n) + " points");
    const size_t dim = pts[0].size();
    for (const auto& p : pts)
        if (p.size() != dim) throw Error("k-means: points of different dimensions");
    std::mt19937_64 rng(seed);
    auto uniform = [&rng]() { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); };  // [0, 1)

    // k-means++ seeding.
    KMeansResult r;
    r.centroids.push_back(pts[rng() % n]);
    std::vector<double> d2(n);
    for (size_t i = 0; i < n; ++i) d2[i] = sqdist(pts[i].data(), r.centroids[0].data(), dim);
    while (static_cast<int>(r.centroids.size()) < k) {
        double total = 0;
        for (double d : d2) total += d;
        size_t pick = n - 1;
        if (total > 0) {
            const double u = uniform() * total;
            double acc = 0;
            for (size_t i = 0; i < n; ++i) {
                acc += d2[i];
                if (acc > u) {
                    pick = i;
                    break;
                }
            }
        } else {
            pick = rng() % n;
        }
        r.centroids.push_back(pts[pick]);
        for (size_t i = 0; i < n; ++i) d2[i] = std::min(d2[i], sqdist(pts[i].data(), r.centroids.back().data(), dim));
    }

    // Lloyd iterations until the assignment is stable.
    r.assignment.assign(n, -1);
    for (r.iterations = 0; r.iterations < max_iters; ++r.iterations) {
        bool changed = false;
        for (size_t i = 0; i < n; ++i) {
            const int c = nearest_centroid(r.centroids, pts[i].data());
            if (c != r.assignment[i]) r.assignment[i] = c, changed = true;
        }
        if (!changed) break;
        std::vector<std::vector<double>> sum(k, std::vector<double>(dim, 0.0));
        std::vector<int64_t> cnt(k, 0);
        for (size_t i = 0; i < n; ++i) {
            auto& s = sum[r.assignment[i]];
            for (size_t d = 0; d < dim; ++d) s[d] += pts[i][d];
            ++cnt[r.assignment[i]];
        }
        for (int c = 0; c < k; ++c) {
            if (cnt[c] == 0) {
                // An empty cluster restarts at the point farthest from its centroid.
                size_t far = 0;
                double fd = -1;
                for (size_t i = 0; i < n; ++i) {
                    const double d = sqdist(pts[i].data(), r.centroids[r.assignment[i]].data(), dim);
                    if (d > fd) fd = d, far = i;
                }
                r.centroids[c] = pts[far];
                continue;
            }
            for (size_t d = 0; d < dim; ++d) r.centroids[c][d] = static_cast<float>(sum[c][d] / cnt[c]);
        }
    }
    // Final assignment against the final centroids (a no-op when converged).
    for (size_t i = 0; i < n; ++i) r.assignment[i] = nearest_centroid(r.centroids, pts[i].data());
    r.sizes.assign(k, 0);
    for (int a : r.assignment) ++r.sizes[a];
    return r;
}

std::vector<float> pixel_features(const Image& im) {
    std::vector<float> f(im.pixels.size());
    for (size_t i = 0; i < f.size(); ++i) f[i] = im.pixels[i] * (1.0f / 255.0f);
    return f;
}

std::vector<int> Holdout::class_labels() const {
    std::vector<int> v;
    for (const auto& c : classes) v.push_back(c.label);
    return v;
}

bool Holdout::contains(const Image& image, int label) const {
    if (image.width != width || image.height != height || image.channels != channels) return false;
    for (const auto& c : classes) {
        if (c.label != label) continue;
        const std::vector<float> f = pixel_features(image);
        return nearest_centroid(c.centroids, f.data()) == c.held_cluster;
    }
    return false;
}

std::vector<bool> Holdout::membership(const Dataset& data, std::string* how) const {
    std::vector<bool> in(data.size(), false);
    const std::vector<int64_t>* idx = nullptr;
    if (!train_spec.empty() && data.spec == train_spec) idx = &train_indices;
    else if (has_test && !test_spec.empty() && data.spec == test_spec) idx = &test_indices;
    if (idx) {
        for (int64_t i : *idx) {
            if (i < 0 || static_cast<size_t>(i) >= data.size())
                throw Error("holdout: index " + std::to_string(i) + " is outside " + data.spec + " (" +
                            std::to_string(data.size()) + " images)");
            in[static_cast<size_t>(i)] = true;
        }
        if (how) *how = "indices";
        return in;
    }
    for (size_t i = 0; i < data.size(); ++i) in[i] = contains(data.images[i], data.labels[i]);
    if (how) *how = "centroids";
    return in;
}

Holdout make_holdout(const Dataset& train, const std::vector<int>& classes, int k, uint64_t seed, const std::string& policy) {
    if (policy != "confusable" && policy != "smallest" && policy != "random")
        throw Error("holdout: unknown policy '" + policy + "' (confusable, smallest, random)");
    if (k < 2) throw Error("holdout: k must be at least 2 (got " + std::to_string(k) + ")");
    if (train.size() == 0) throw Error("holdout: " + train.spec + " is empty");
    Holdout h;
    h.seed = seed;
    h.k = k;
    h.policy = policy;
    h.train_spec = train.spec;
    h.width = train.images[0].width;
    h.height = train.images[0].height;
    h.channels = train.images[0].channels;
    const size_t dim = static_cast<size_t>(h.width) * h.height * h.channels;
    for (size_t i = 0; i < train.size(); ++i) {
        const Image& im = train.images[i];
        if (im.width != h.width || im.height != h.height || im.channels != h.channels)
            throw Error("holdout: clustering on pixels needs images of one size; " +
                        (train.sources.empty() ? "image " + std::to_string(i) : train.sources[i]) + " is " +
                        std::to_string(im.width) + "x" + std::to_string(im.height) + "x" + std::to_string(im.channels) +
                        ", the first is " + std::to_string(h.width) + "x" + std::to_string(h.height) + "x" +
                        std::to_string(h.channels));
    }
    // Per-class mean images (for the "confusable" policy).
    const int K = train.num_classes();
    std::vector<std::vector<double>> mean(K, std::vector<double>(dim, 0.0));
    std::vector<int64_t> count(K, 0);
    for (size_t i = 0; i < train.size(); ++i) {
        auto& m = mean[train.labels[i]];
        for (size_t d = 0; d < dim; ++d) m[d] += train.images[i].pixels[d] / 255.0;
        ++count[train.labels[i]];
    }
    std::vector<int> sorted = classes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) throw Error("holdout: a class is listed twice");
    for (int label : sorted) {
        if (label < 0 || label >= K || count[label] == 0)
            throw Error("holdout: class " + std::to_string(label) + " has no images in " + train.spec);
        std::vector<size_t> members;
        std::vector<std::vector<float>> pts;
        for (size_t i = 0; i < train.size(); ++i)
            if (train.labels[i] == label) members.push_back(i), pts.push_back(pixel_features(train.images[i]));
        if (static_cast<int>(pts.size()) < 2 * k)
            throw Error("holdout: class " + std::to_string(label) + " has " + std::to_string(pts.size()) +
                        " images, too few for " + std::to_string(k) + " clusters");
        std::seed_seq ss{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(label), 0x6b6du};
        std::mt19937_64 seeder(ss);
        const uint64_t class_seed = seeder();
        KMeansResult km = kmeans(pts, k, class_seed);

        HoldoutClass hc;
        hc.label = label;
        hc.cluster_sizes = km.sizes;
        hc.centroids = km.centroids;
        const int64_t min_size = std::max<int64_t>(1, static_cast<int64_t>(pts.size()) / 10);
        int pick = -1;
        if (policy == "smallest") {
            for (int c = 0; c < k; ++c)
                if (km.sizes[c] >= min_size && (pick < 0 || km.sizes[c] < km.sizes[pick])) pick = c;
        } else if (policy == "random") {
            std::vector<int> ok;
            for (int c = 0; c < k; ++c)
                if (km.sizes[c] >= min_size) ok.push_back(c);
            if (!ok.empty()) pick = ok[seeder() % ok.size()];
        } else {
            double best = std::numeric_limits<double>::infinity();
            for (int c = 0; c < k; ++c) {
                if (km.sizes[c] < min_size) continue;
                for (int other = 0; other < K; ++other) {
                    if (other == label || count[other] == 0) continue;
                    double s = 0;
                    for (size_t d = 0; d < dim; ++d) {
                        const double diff = km.centroids[c][d] - mean[other][d] / count[other];
                        s += diff * diff;
                    }
                    if (s < best) best = s, pick = c;
                }
            }
        }
        if (pick < 0) pick = static_cast<int>(std::max_element(km.sizes.begin(), km.sizes.end()) - km.sizes.begin());
        hc.held_cluster = pick;
        for (size_t j = 0; j < members.size(); ++j)
            if (km.assignment[j] == pick) h.train_indices.push_back(static_cast<int64_t>(members[j]));
        h.classes.push_back(std::move(hc));
    }
    std::sort(h.train_indices.begin(), h.train_indices.end());
    return h;
}

void assign_holdout_test(Holdout& h, const Dataset& test) {
    h.test_spec = test.spec;
    h.has_test = true;
    h.test_indices.clear();
    for (size_t i = 0; i < test.size(); ++i)
        if (h.contains(test.images[i], test.labels[i])) h.test_indices.push_back(static_cast<int64_t>(i));
}

std::string Holdout::to_json() const {
    nlohmann::json j;
    j["format"] = "vitedit.holdout/1";
    j["seed"] = seed;
    j["k"] = k;
    j["policy"] = policy;
    j["feature"] = "pixels/255";
    j["image"] = {width, height, channels};
    j["train_spec"] = train_spec;
    j["train_indices"] = train_indices;
    if (has_test) {
        j["test_spec"] = test_spec;
        j["test_indices"] = test_indices;
    }
    nlohmann::json cl = nlohmann::json::array();
    for (const auto& c : classes) {
        std::vector<float> flat;
        for (const auto& v : c.centroids) flat.insert(flat.end(), v.begin(), v.end());
        cl.push_back({{"label", c.label},
                      {"held_cluster", c.held_cluster},
                      {"cluster_sizes", c.cluster_sizes},
                      {"centroids_f32le_b64", b64_floats(flat)}});
    }
    j["classes"] = cl;
    return j.dump();
}

Holdout Holdout::from_json(const std::string& text) {
    Holdout h;
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        if (j.value("format", "") != "vitedit.holdout/1")
            throw Error("holdout: unknown format '" + j.value("format", std::string()) + "'");
        h.seed = j.at("seed").get<uint64_t>();
        h.k = j.at("k").get<int>();
        h.policy = j.value("policy", "");
        const auto im = j.at("image").get<std::vector<int>>();
        if (im.size() != 3) throw Error("holdout: 'image' must be [width, height, channels]");
        h.width = im[0], h.height = im[1], h.channels = im[2];
        h.train_spec = j.value("train_spec", "");
        h.train_indices = j.at("train_indices").get<std::vector<int64_t>>();
        if (j.contains("test_indices")) {
            h.has_test = true;
            h.test_spec = j.value("test_spec", "");
            h.test_indices = j.at("test_indices").get<std::vector<int64_t>>();
        }
        const size_t dim = static_cast<size_t>(h.width) * h.height * h.channels;
        for (const auto& c : j.at("classes")) {
            HoldoutClass hc;
            hc.label = c.at("label").get<int>();
            hc.held_cluster = c.at("held_cluster").get<int>();
            hc.cluster_sizes = c.at("cluster_sizes").get<std::vector<int64_t>>();
            const std::vector<float> flat = unb64_floats(c.at("centroids_f32le_b64").get<std::string>());
            if (dim == 0 || flat.size() != dim * static_cast<size_t>(h.k) || hc.held_cluster < 0 || hc.held_cluster >= h.k)
                throw Error("holdout: class " + std::to_string(hc.label) + " has inconsistent centroids");
            for (int c2 = 0; c2 < h.k; ++c2) hc.centroids.emplace_back(flat.begin() + c2 * dim, flat.begin() + (c2 + 1) * dim);
            h.classes.push_back(std::move(hc));
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("holdout: malformed JSON (") + e.what() + ")");
    }
    return h;
}

}  // namespace vitedit
