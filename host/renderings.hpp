// vitedit host — synthetic renderings of images for the benchmark's synthetic-shift groups (the
// analogue of the paper's AI-generated images): appearances the base model never saw in training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vitedit/image.hpp"

namespace vitedit::cli {

// "inverted" (255 - x), "textured" (a seeded diagonal-stripe texture over the object),
// "sketch" (Sobel edge magnitude: an outline drawing) — the bundled benchmark's kinds; and kinds it
// does not contain, to check that a locator's advantage carries over: "upside-down" (vertical
// flip), "noisy" (seeded Gaussian noise), "blurred" (5x5 box blur).
const std::vector<std::string>& rendering_names();
Image render(const Image& image, const std::string& rendering, uint64_t seed);

}  // namespace vitedit::cli
