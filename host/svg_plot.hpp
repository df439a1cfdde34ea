// vitedit host — a small SVG line plot (GR against LR per method) without dependencies.
#pragma once

#include <string>
#include <vector>

namespace vitedit::cli {

struct Series {
    std::string name;
    std::vector<double> x, y;
    std::vector<std::string> labels;  // per point, e.g. "0.05"
};

// Axes from the data's range (padded), grid, a legend, points joined in the given order.
std::string svg_line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<Series>& series);

}  // namespace vitedit::cli
