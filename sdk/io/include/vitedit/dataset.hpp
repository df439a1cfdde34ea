// vitedit — labelled image sets: Fashion-MNIST IDX files, image folders, and the data spec that
// names either (`fmnist:train`, `fmnist:test`, or a folder path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vitedit/image.hpp"

namespace vitedit {

// A labelled image set held in memory (8-bit pixels, as decoded).
struct Dataset {
    std::string spec;                      // what it was loaded from, as given
    std::vector<Image> images;
    std::vector<int32_t> labels;           // class index of each image
    std::vector<std::string> sources;      // per-image file (folders); empty for IDX sets
    std::vector<std::string> class_names;  // per class index, may be empty or partly ""
    size_t size() const { return images.size(); }
    int num_classes() const;               // max(class_names.size(), max label + 1)
};

// ---- Fashion-MNIST ------------------------------------------------------------------------
// The standard normalization and class names of Fashion-MNIST.
constexpr float kFmnistMean = 0.2860f;
constexpr float kFmnistStd = 0.3530f;
const std::vector<std::string>& fmnist_class_names();

// The directory holding the IDX files: $VITEDIT_FMNIST_DIR, else /usr/share/datasets/fashion-mnist.
std::string fmnist_dir();

// Raw IDX readers (gzip or uncompressed, detected by content). Throw vitedit::Error naming the
// file on a bad magic number, a wrong element type or rank, a truncated file or trailing bytes.
struct IdxImages {
    int64_t count = 0;
    int rows = 0, cols = 0;
    std::vector<uint8_t> pixels;  // count * rows * cols
};
IdxImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);
// The same from the (decompressed) bytes of a file; `what` names the source in messages.
IdxImages parse_idx_images(const std::string& bytes, const std::string& what);
std::vector<uint8_t> parse_idx_labels(const std::string& bytes, const std::string& what);

// Reads an image/label file pair, checks the counts agree and the labels are < 10.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, const std::string& spec);
// split: "train" (60000 images) or "test" (10000), from fmnist_dir() (or `dir` when given).
Dataset load_fmnist(const std::string& split, const std::string& dir = "");

// ---- image folders -------------------------------------------------------------------------
// ROOT/<class>/<image>: a class folder's name starts with the class index ("3" or "3_dress",
// "3-dress", "3 dress"); the rest becomes the class name. Images: any file stb_image decodes
// (png, jpg, jpeg, bmp, gif, pgm, ppm, pnm), sorted by name within a class;
// classes in index order. Other files and hidden entries are ignored. Throws on duplicate class
// indices, an empty root, or an undecodable image (naming it).
Dataset load_image_folder(const std::string& root);
// Parses a class folder name: the class index and the name after the separator. Returns false
// when the name does not start with a decimal index.
bool parse_class_folder(const std::string& name, int* index, std::string* class_name);

// ---- data specs ----------------------------------------------------------------------------
struct DataSpec {
    enum Kind { Fmnist, Folder } kind = Fmnist;
    std::string split;  // "train" / "test" for Fmnist
    std::string path;   // the folder for Folder
    std::string text;   // as given
};
// `fmnist:train`, `fmnist:test`, or an existing directory. Throws vitedit::Error with the
// accepted forms otherwise.
DataSpec parse_data_spec(const std::string& spec);
Dataset load_dataset(const DataSpec& spec);
Dataset load_dataset(const std::string& spec);

}  // namespace vitedit
