// vitedit host — the GR–LR plot of a benchmark without dependencies: one panel per locality
// axis, every method's sweep points (hollow where it did not fix the edit images) and its front.
#pragma once

#include <string>
#include <vector>

namespace vitedit::cli {

struct Series {
    std::string name;
    std::vector<double> x, y;
    std::vector<std::string> labels;  // per point, e.g. "0.05"
    std::vector<bool> fixed;          // per point: SR at the front's floor (filled marker)
    std::vector<double> front_x, front_y;
};

struct Panel {
    std::string x_label;
    std::vector<Series> series;
};

// Panels side by side sharing the y axis' label and one legend; axes from each panel's data.
std::string svg_front_plot(const std::string& title, const std::string& y_label, const std::vector<Panel>& panels);

}  // namespace vitedit::cli
