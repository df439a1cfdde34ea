// vitedit host — SVG plot of GR–LR fronts.
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
std::string tick(double v) {
    std::ostringstream t;
    t.setf(std::ios::fixed);
    t.precision(2);
    t << v;
    return t.str();
}
const char* color(size_t k) {
    static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    return colors[k % 8];
}
}  // namespace

std::string svg_front_plot(const std::string& title, const std::string& yl, const std::vector<Panel>& panels) {
    const double PW = 430, H = 460, L = 70, gap = 30, T = 44, B = 60, legend = 170;
    const double W = L + panels.size() * PW + (panels.size() - 1) * gap + legend;
    std::ostringstream o;
    o.precision(5);
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' font-family='sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << (W - legend) / 2 << "' y='22' text-anchor='middle' font-size='15'>" << esc(title) << "</text>\n"
      << "<text transform='translate(18," << (T + H - B) / 2 << ") rotate(-90)' text-anchor='middle'>" << esc(yl) << "</text>\n";
    for (size_t p = 0; p < panels.size(); ++p) {
        const Panel& panel = panels[p];
        const double left = L + p * (PW + gap), right = left + PW - 20;
        double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
        for (const auto& s : panel.series)
            for (size_t i = 0; i < s.x.size(); ++i)
                x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
        if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
        auto pad = [](double& a, double& b) {
            const double d = std::max(b - a, 0.02);
            a = std::max(0.0, a - 0.08 * d), b = std::min(1.0, b + 0.08 * d);
            if (b <= a) b = a + 0.01;
        };
        pad(x0, x1), pad(y0, y1);
        auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
        auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
        for (int i = 0; i <= 5; ++i) {
            const double xv = x0 + (x1 - x0) * i / 5, yv = y0 + (y1 - y0) * i / 5;
            o << "<line x1='" << px(xv) << "' y1='" << T << "' x2='" << px(xv) << "' y2='" << H - B << "' stroke='#e5e5e5'/>\n"
              << "<line x1='" << left << "' y1='" << py(yv) << "' x2='" << right << "' y2='" << py(yv) << "' stroke='#e5e5e5'/>\n"
              << "<text x='" << px(xv) << "' y='" << H - B + 16 << "' text-anchor='middle'>" << tick(xv) << "</text>\n"
              << "<text x='" << left - 6 << "' y='" << py(yv) + 4 << "' text-anchor='end'>" << tick(yv) << "</text>\n";
        }
        o << "<rect x='" << left << "' y='" << T << "' width='" << right - left << "' height='" << H - T - B
          << "' fill='none' stroke='#333'/>\n"
          << "<text x='" << (left + right) / 2 << "' y='" << H - 18 << "' text-anchor='middle'>" << esc(panel.x_label) << "</text>\n";
        for (size_t k = 0; k < panel.series.size(); ++k) {
            const auto& s = panel.series[k];
            const char* c = color(k);
            if (!s.front_x.empty()) {
                o << "<polyline fill='none' stroke='" << c << "' stroke-width='2' points='";
                for (size_t i = 0; i < s.front_x.size(); ++i) o << px(s.front_x[i]) << "," << py(s.front_y[i]) << " ";
                o << "'/>\n";
            }
            for (size_t i = 0; i < s.x.size(); ++i) {
                const bool filled = i >= s.fixed.size() || s.fixed[i];
                o << "<circle cx='" << px(s.x[i]) << "' cy='" << py(s.y[i]) << "' r='3.5' stroke='" << c << "' fill='"
                  << (filled ? c : "white") << "'/>\n";
                if (i < s.labels.size() && !s.labels[i].empty())
                    o << "<text x='" << px(s.x[i]) + 5 << "' y='" << py(s.y[i]) - 5 << "' font-size='9' fill='" << c << "'>"
                      << esc(s.labels[i]) << "</text>\n";
            }
        }
    }
    const double lx = W - legend + 10;
    if (!panels.empty())
        for (size_t k = 0; k < panels[0].series.size(); ++k)
            o << "<line x1='" << lx << "' y1='" << T + 12 + 20 * k << "' x2='" << lx + 25 << "' y2='" << T + 12 + 20 * k
              << "' stroke='" << color(k) << "' stroke-width='2'/>\n"
              << "<text x='" << lx + 31 << "' y='" << T + 16 + 20 * k << "'>" << esc(panels[0].series[k].name) << "</text>\n";
    const double ny = T + 20 + 20 * (panels.empty() ? 0 : panels[0].series.size());
    o << "<text x='" << lx << "' y='" << ny << "' font-size='10' fill='#555'>line: front (SR floor met)</text>\n"
      << "<text x='" << lx << "' y='" << ny + 14 << "' font-size='10' fill='#555'>hollow: SR below the floor</text>\n"
      << "</svg>\n";
    return o.str();
}

}  // namespace vitedit::cli
