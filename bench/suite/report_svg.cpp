// --plot FILE.svg: the scaling of every scenario as horizontal bars, readable without the
// table. One block per scenario; one bar per loop count whose length is the speedup over the
// fewest loops (so every scenario shares one axis, whatever its unit), a dark tick on each
// bar where perfect scaling would end it, and the figure itself written beside the bar.
// Plain SVG 1.1 with inline attributes only: any browser or image viewer shows it.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "report.hpp"

namespace weft::bench {

namespace {

constexpr int kWidth = 1120;
constexpr int kLabelWidth = 330;  // scenario titles and sizes
// Characters of a size line that fit in kLabelWidth at 10.5 px (measured: ~5.9 px a char).
constexpr std::size_t kSizeChars = 52;
constexpr int kTextWidth = 340;  // the figure written after each bar
constexpr int kBarArea = kWidth - kLabelWidth - kTextWidth - 20;
constexpr int kBarHeight = 14;
constexpr int kBarGap = 4;
constexpr int kBlockGap = 16;
constexpr int kTop = 96;

// Colour-blind-safe palette (Okabe-Ito), one colour per loop count in --loops order.
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                    "#56B4E9", "#D55E00", "#F0E442", "#000000"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

void write_svg(const std::string& path, const SuiteResult& r) {
  const std::vector<unsigned>& loops = r.options.loops;
  // The axis reaches past both the best speedup and the ideal of the most loops.
  double axis_max = static_cast<double>(loops.back()) / loops.front();
  for (const ScenarioResult& sr : r.scenarios)
    for (const ConfigResult& c : sr.configs)
      if (auto s = sr.speedup(c)) axis_max = std::max(axis_max, *s);
  axis_max = std::ceil(axis_max * 1.05 * 2) / 2;  // to the next half
  if (axis_max < 1) axis_max = 1;
  const double px_per_x = kBarArea / axis_max;
  const int bar_x = kLabelWidth;

  const int block_height =
      std::max(34, static_cast<int>(loops.size()) * (kBarHeight + kBarGap)) + kBlockGap;
  const int height = kTop + static_cast<int>(r.scenarios.size()) * block_height + 40;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << ' ' << height
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const Machine& m = r.machine;
  svg << "<text x=\"16\" y=\"26\" font-size=\"17\" font-weight=\"bold\">weft-bench: speedup of "
      << "more loops over " << loops.front() << (loops.front() == 1 ? " loop" : " loops")
      << "</text>\n";
  svg << "<text x=\"16\" y=\"46\" fill=\"#444\">"
      << escape(m.cpu_model + ", " + std::to_string(m.usable_cpus) + " usable CPUs, " + m.kernel +
                "; " + r.started_utc + "; commit " + short_commit(m.git_commit) +
                (r.options.quick ? "; --quick (smoke sizes)" : ""))
      << "</text>\n";
  // Legend: one swatch per loop count, then the ideal tick.
  int lx = 16;
  for (std::size_t i = 0; i < loops.size(); ++i) {
    svg << "<rect x=\"" << lx << "\" y=\"58\" width=\"12\" height=\"12\" fill=\""
        << kColours[i % std::size(kColours)] << "\"/>\n";
    const std::string label = std::to_string(loops[i]) + (loops[i] == 1 ? " loop" : " loops");
    svg << "<text x=\"" << lx + 16 << "\" y=\"69\">" << label << "</text>\n";
    lx += 30 + static_cast<int>(label.size()) * 7;
  }
  svg << "<line x1=\"" << lx << "\" y1=\"57\" x2=\"" << lx << "\" y2=\"71\" stroke=\"#222\" "
      << "stroke-width=\"2\"/>\n<text x=\"" << lx + 6 << "\" y=\"69\">perfect scaling"
      << " (the hashing scenario scales its pool workers instead of loops)</text>\n";
  // Grid: one line per whole speedup.
  for (int x = 0; x <= static_cast<int>(std::floor(axis_max)); ++x) {
    const double gx = bar_x + x * px_per_x;
    svg << "<line x1=\"" << fixed(gx, 1) << "\" y1=\"" << kTop - 8 << "\" x2=\"" << fixed(gx, 1)
        << "\" y2=\"" << height - 30 << "\" stroke=\"" << (x == 1 ? "#999" : "#ddd")
        << "\"/>\n<text x=\"" << fixed(gx, 1) << "\" y=\"" << kTop - 12
        << "\" text-anchor=\"middle\" fill=\"#666\">" << x << "x</text>\n";
  }

  int y = kTop;
  for (const ScenarioResult& sr : r.scenarios) {
    const Scenario& s = *sr.scenario;
    svg << "<text x=\"16\" y=\"" << y + 11 << "\" font-weight=\"bold\">"
        << escape(s.group + ": " + s.title) << "</text>\n";
    // The size line must end before the bars start: cut to what fits, the whole of it in a
    // tooltip.
    std::string size = s.size;
    if (size.size() > kSizeChars) size = size.substr(0, kSizeChars - 3) + "...";
    svg << "<text x=\"16\" y=\"" << y + 26 << "\" fill=\"#555\" font-size=\"10.5\"><title>"
        << escape(s.size) << "</title>" << escape(size) << "</text>\n";
    const ConfigResult* base = sr.base();
    for (std::size_t i = 0; i < sr.configs.size(); ++i) {
      const ConfigResult& c = sr.configs[i];
      const int by = y + static_cast<int>(i) * (kBarHeight + kBarGap);
      const std::optional<double> speedup = sr.speedup(c);
      if (!speedup) {
        svg << "<text x=\"" << bar_x + 4 << "\" y=\"" << by + 11 << "\" fill=\"#C00\">" << c.loops
            << (c.loops == 1 ? " loop" : " loops") << ": failed</text>\n";
        continue;
      }
      const double w = std::max(1.0, *speedup * px_per_x);
      svg << "<rect x=\"" << bar_x << "\" y=\"" << by << "\" width=\"" << fixed(w, 1)
          << "\" height=\"" << kBarHeight << "\" fill=\"" << kColours[i % std::size(kColours)]
          << "\"><title>" << escape(s.title) << ", " << c.loops << ' ' << escape(s.axis) << ": "
          << escape(format_number(c.value()->median)) << ' ' << escape(s.unit)
          << "</title></rect>\n";
      if (base != nullptr) {
        const double ideal = static_cast<double>(c.loops) / base->loops;
        const double ix = bar_x + ideal * px_per_x;
        svg << "<line x1=\"" << fixed(ix, 1) << "\" y1=\"" << by - 1 << "\" x2=\"" << fixed(ix, 1)
            << "\" y2=\"" << by + kBarHeight + 1 << "\" stroke=\"#222\" stroke-width=\"2\"/>\n";
      }
      const double ideal_w =
          base != nullptr ? static_cast<double>(c.loops) / base->loops * px_per_x : 0;
      const double text_x = bar_x + std::max(w, ideal_w) + 6;
      std::string label =
          format_number(c.value()->median) + " " + s.unit + "  (" + fixed(*speedup, 2) + "x)";
      if (auto ratio = c.reference_ratio()) {
        label += s.reference_kind == ReferenceKind::limit
                     ? "  " + fixed(ratio->median * 100, 0) + "% of limit"
                     : "  " + fixed(ratio->median, ratio->median >= 100 ? 0 : 2) + "x " +
                           (s.group == "io" ? "raw" : s.reference_label);
      }
      svg << "<text x=\"" << fixed(text_x, 1) << "\" y=\"" << by + 11 << "\">" << escape(label)
          << "</text>\n";
    }
    y += block_height;
  }
  svg << "<text x=\"16\" y=\"" << height - 12 << "\" fill=\"#666\" font-size=\"10.5\">"
      << "Bars: median of the repetitions, relative to the fewest loops. Baselines are measured "
         "in the same repetition; limits come from this machine (see the JSON).</text>\n";
  svg << "</svg>\n";

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << svg.str();
  out.close();
  if (!out) throw std::runtime_error("cannot write the SVG to " + path);
}

}  // namespace weft::bench
