// Fuzz target: image decoding (stb_image behind vitedit::decode_image, every format it reads) and
// the conversion to model input (channel conversion, bilinear resize, normalization) for a 1- and
// a 3-channel model. Any input must decode or throw vitedit::Error.
#include <cstdint>
#include <cstdlib>

#include "vitedit/backend.hpp"
#include "vitedit/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const vitedit::Image img = vitedit::decode_image(data, size, "fuzz.img");
        if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * img.channels) std::abort();
        if (img.channels != 1 && img.channels != 3) std::abort();
        // Resizing a big image is slow, not wrong (a few bytes of GIF or PNG can declare millions of
        // pixels, up to decode_image's cap): keep the fuzzer fast.
        if (static_cast<int64_t>(img.width) * img.height > 1024 * 1024) return 0;
        for (int chans : {1, 3}) {
            vitedit::VitConfig cfg;
            cfg.in_chans = chans;
            cfg.patch = 4;
            cfg.grid_h = 7;  // 28 x 20 pixels: resized both ways from most inputs
            cfg.grid_w = 5;
            cfg.mean.assign(chans, 0.5f);
            cfg.std.assign(chans, 0.25f);
            const auto x = vitedit::to_model_input(img, cfg);
            if (x.size() != static_cast<size_t>(chans) * 28 * 20) std::abort();
        }
    } catch (const vitedit::Error&) {
    }
    return 0;
}
