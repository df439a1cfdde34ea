// vitedit host — synthetic renderings.
#include "renderings.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "vitedit/backend.hpp"

namespace vitedit::cli {

const std::vector<std::string>& rendering_names() {
    static const std::vector<std::string> names = {"inverted", "textured", "sketch", "upside-down", "noisy", "blurred"};
    return names;
}

Image render(const Image& in, const std::string& rendering, uint64_t seed) {
    Image out = in;
    const int W = in.width, H = in.height, C = in.channels;
    auto px = [&](int x, int y, int c) { return static_cast<float>(in.pixels[(static_cast<size_t>(y) * W + x) * C + c]); };
    if (rendering == "inverted") {
        for (auto& p : out.pixels) p = static_cast<uint8_t>(255 - p);
    } else if (rendering == "textured") {
        // Stripes of a seeded period and phase modulate the object (where it is not background).
        std::mt19937_64 rng(seed);
        const int period = 3 + static_cast<int>(rng() % 3), phase = static_cast<int>(rng() % period);
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < C; ++c) {
                    const float v = px(x, y, c);
                    const bool stripe = (x + y + phase) % period == 0;
                    const float t = stripe ? v * 0.35f : std::min(255.0f, v * 1.1f + (v > 20 ? 25.0f : 0.0f));
                    out.pixels[(static_cast<size_t>(y) * W + x) * C + c] = static_cast<uint8_t>(std::lround(t));
                }
    } else if (rendering == "sketch") {
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < C; ++c) {
                    auto at = [&](int xx, int yy) { return px(std::clamp(xx, 0, W - 1), std::clamp(yy, 0, H - 1), c); };
                    const float gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
                    const float gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
                    const float m = std::min(255.0f, std::sqrt(gx * gx + gy * gy) * 0.5f);
                    out.pixels[(static_cast<size_t>(y) * W + x) * C + c] = static_cast<uint8_t>(std::lround(m));
                }
    } else if (rendering == "upside-down") {
        for (int y = 0; y < H; ++y)
            std::copy_n(&in.pixels[static_cast<size_t>(H - 1 - y) * W * C], static_cast<size_t>(W) * C,
                        &out.pixels[static_cast<size_t>(y) * W * C]);
    } else if (rendering == "noisy") {
        // Seeded Gaussian pixel noise, strong enough to hide fine texture but not the silhouette.
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> noise(0.0f, 50.0f);
        for (auto& p : out.pixels) p = static_cast<uint8_t>(std::lround(std::clamp(p + noise(rng), 0.0f, 255.0f)));
    } else if (rendering == "blurred") {
        // A 5x5 box blur: the silhouette without its details.
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < C; ++c) {
                    float sum = 0;
                    for (int dy = -2; dy <= 2; ++dy)
                        for (int dx = -2; dx <= 2; ++dx) sum += px(std::clamp(x + dx, 0, W - 1), std::clamp(y + dy, 0, H - 1), c);
                    out.pixels[(static_cast<size_t>(y) * W + x) * C + c] = static_cast<uint8_t>(std::lround(sum / 25));
                }
    } else {
        std::string known;
        for (const auto& n : rendering_names()) known += (known.empty() ? "" : ", ") + n;
        throw Error("unknown rendering '" + rendering + "' (known: " + known + ")");
    }
    return out;
}

}  // namespace vitedit::cli
