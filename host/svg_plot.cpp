// vitedit host — SVG line plot.
#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace vitedit::cli {

namespace {
std::string esc(const std::string& s) {
    std::string o;
    for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
    return o;
}
}  // namespace

std::string svg_line_plot(const std::string& title, const std::string& xl, const std::string& yl,
                          const std::vector<Series>& series) {
    const double W = 640, H = 440, L = 70, R = 170, T = 40, B = 60;
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (const auto& s : series)
        for (size_t i = 0; i < s.x.size(); ++i) {
            x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
        }
    if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    auto pad = [](double& a, double& b) {
        double d = std::max(b - a, 0.02);
        a = std::max(0.0, a - 0.08 * d), b = std::min(1.0, b + 0.08 * d);
        if (b <= a) b = a + 0.01;
    };
    pad(x0, x1), pad(y0, y1);
    auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    std::ostringstream o;
    o.precision(4);
    auto tick = [](double v) {
        std::ostringstream t;
        t.setf(std::ios::fixed);
        t.precision(2);
        t << v;
        return t.str();
    };
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' font-family='sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << W / 2 - R / 2 << "' y='22' text-anchor='middle' font-size='15'>" << esc(title) << "</text>\n";
    for (int i = 0; i <= 5; ++i) {
        double xv = x0 + (x1 - x0) * i / 5, yv = y0 + (y1 - y0) * i / 5;
        o << "<line x1='" << px(xv) << "' y1='" << T << "' x2='" << px(xv) << "' y2='" << H - B << "' stroke='#e5e5e5'/>\n"
          << "<line x1='" << L << "' y1='" << py(yv) << "' x2='" << W - R << "' y2='" << py(yv) << "' stroke='#e5e5e5'/>\n"
          << "<text x='" << px(xv) << "' y='" << H - B + 16 << "' text-anchor='middle'>" << tick(xv) << "</text>\n"
          << "<text x='" << L - 6 << "' y='" << py(yv) + 4 << "' text-anchor='end'>" << tick(yv) << "</text>\n";
    }
    o << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
      << "' fill='none' stroke='#333'/>\n"
      << "<text x='" << (L + W - R) / 2 << "' y='" << H - 18 << "' text-anchor='middle'>" << esc(xl) << "</text>\n"
      << "<text transform='translate(18," << (T + H - B) / 2 << ") rotate(-90)' text-anchor='middle'>" << esc(yl) << "</text>\n";
    for (size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        const char* c = colors[k % 8];
        o << "<polyline fill='none' stroke='" << c << "' stroke-width='2' points='";
        for (size_t i = 0; i < s.x.size(); ++i) o << px(s.x[i]) << "," << py(s.y[i]) << " ";
        o << "'/>\n";
        for (size_t i = 0; i < s.x.size(); ++i) {
            o << "<circle cx='" << px(s.x[i]) << "' cy='" << py(s.y[i]) << "' r='3.5' fill='" << c << "'/>\n";
            if (i < s.labels.size())
                o << "<text x='" << px(s.x[i]) + 5 << "' y='" << py(s.y[i]) - 5 << "' font-size='9' fill='" << c << "'>"
                  << esc(s.labels[i]) << "</text>\n";
        }
        o << "<line x1='" << W - R + 15 << "' y1='" << T + 12 + 20 * k << "' x2='" << W - R + 40 << "' y2='" << T + 12 + 20 * k
          << "' stroke='" << c << "' stroke-width='2'/>\n"
          << "<text x='" << W - R + 46 << "' y='" << T + 16 + 20 * k << "'>" << esc(s.name) << "</text>\n";
    }
    o << "</svg>\n";
    return o.str();
}

}  // namespace vitedit::cli
