// --plot FILE.svg: every scenario's rate at each loop count, readable without the table.
//
// One block per scenario: its title and its whole size line (never cut), then one bar per
// loop count. A bar's length is the median rate; scenarios differ in unit, so each block has
// its own scale, from zero to the largest figure drawn in it. A whisker spans the slowest to
// the fastest repetition (none with one repetition, which has no spread), and a dark tick
// marks where perfect scaling from the fewest loops would end the bar. The figure, its
// spread, the speedup and the ratio to the baseline or limit are written at the end of each
// bar. Showing rates rather than speedups keeps the base bar informative: a speedup chart's
// base bar is always 1.00x.
//
// The width: the scale is chosen so that the bar whose end plus label reaches furthest ends
// at the right margin, so the labels use the whole canvas instead of a fixed column.
// Plain SVG 1.1 with inline attributes only: any browser or image viewer shows it.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "report.hpp"

namespace weft::bench {

namespace {

constexpr int kWidth = 1120;  // the canvas, unless a label needs more
constexpr int kMargin = 16;
constexpr int kLabelWidth = 110;  // "2 pool workers", right-aligned before the bar
constexpr int kMinBarArea = 240;  // the bars never shrink below this, the canvas grows instead
// Width of one character at 12 px in DejaVu Sans, rounded up (digits are 7.6 px, lower case
// averages ~6.6 px): an overestimate only leaves a little margin.
constexpr double kCharWidth = 7.0;
constexpr int kBarHeight = 14;
constexpr int kBarGap = 5;
constexpr int kHeadHeight = 34;  // title and size lines above a block's bars
constexpr int kBlockGap = 14;
constexpr int kTop = 112;

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

// Characters as a reader counts them: UTF-8 continuation bytes ("±", "×") add nothing.
std::size_t glyphs(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string axis_label(const Scenario& s, unsigned n) {
  std::string axis = s.axis;
  if (n == 1 && axis.back() == 's') axis.pop_back();
  return std::to_string(n) + " " + axis;
}

// One bar, everything about it computed before anything is drawn (the scale depends on all).
struct Bar {
  const ConfigResult* config = nullptr;
  std::optional<Spread> value;  // empty: the configuration failed
  std::optional<double> ideal;  // perfect scaling from the base, for configs past the base
  double end = 0;               // where the label starts: the bar's or the whisker's end
  double reach = 0;             // the furthest figure drawn: the end or the perfect-scaling tick
  std::string label;
};

std::string bar_label(const ScenarioResult& sr, const ConfigResult& c, const Spread& v) {
  const Scenario& s = *sr.scenario;
  // Without a spread (one repetition) the label is the bare median; the header says why.
  std::string label = format_number(v.median) + " " + s.unit;
  if (v.has_spread()) label += " ±" + fixed(v.relative_half_range() * 100, 0) + "%";
  const ConfigResult* base = sr.base();
  if (base != nullptr && base != &c) {
    if (auto speedup = sr.speedup(c))
      label += "   " + fixed(*speedup, 2) + "× of " + axis_label(s, base->loops);
  }
  if (auto ratio = c.reference_ratio()) {
    label += s.reference_kind == ReferenceKind::limit
                 ? "   " + fixed(ratio->median * 100, 0) + "% of limit"
                 : "   " + fixed(ratio->median, ratio->median >= 100 ? 0 : 2) + "× " +
                       (s.group == "io" ? "baseline" : s.reference_label);
  }
  return label;
}

std::vector<Bar> bars_of(const ScenarioResult& sr) {
  std::vector<Bar> bars;
  const ConfigResult* base = sr.base();
  for (const ConfigResult& c : sr.configs) {
    Bar b{
        .config = &c, .value = c.value(), .ideal = std::nullopt, .end = 0, .reach = 0, .label = ""};
    if (!b.value) {
      b.label = axis_label(*sr.scenario, c.loops) + ": failed";
      bars.push_back(std::move(b));
      continue;
    }
    if (base != nullptr && c.loops != base->loops)
      b.ideal = base->value()->median * c.loops / base->loops;
    b.end = std::max(b.value->median, b.value->has_spread() ? b.value->max : 0.0);
    b.reach = std::max(b.end, b.ideal.value_or(0.0));
    b.label = bar_label(sr, c, *b.value);
    bars.push_back(std::move(b));
  }
  return bars;
}

}  // namespace

void write_svg(const std::string& path, const SuiteResult& r) {
  const int bar_x = kMargin + kLabelWidth;
  std::vector<std::vector<Bar>> blocks;
  for (const ScenarioResult& sr : r.scenarios) blocks.push_back(bars_of(sr));

  // The bar area: as wide as it can be while every label, written at the end of its bar,
  // still ends at the right margin. Each block is scaled to its own largest reach (bar,
  // whisker or tick), so a bar ends at end / block_max of the area.
  double area = kWidth - kMargin - bar_x;
  for (const std::vector<Bar>& bars : blocks) {
    double block_max = 0;
    for (const Bar& b : bars) block_max = std::max(block_max, b.reach);
    if (block_max <= 0) continue;
    for (const Bar& b : bars) {
      if (!b.value) continue;
      const double room = kWidth - kMargin - bar_x - 8 - glyphs(b.label) * kCharWidth;
      if (b.end > 0) area = std::min(area, room / (b.end / block_max));
    }
  }
  area = std::max(area, static_cast<double>(kMinBarArea));
  int width = kWidth;
  for (const std::vector<Bar>& bars : blocks) {
    double block_max = 0;
    for (const Bar& b : bars) block_max = std::max(block_max, b.reach);
    for (const Bar& b : bars) {
      const double end = block_max > 0 ? b.end / block_max * area : 0;
      width = std::max(width, static_cast<int>(std::ceil(bar_x + end + 8 +
                                                         glyphs(b.label) * kCharWidth + kMargin)));
    }
  }

  int height = kTop;
  for (const std::vector<Bar>& bars : blocks)
    height += kHeadHeight + static_cast<int>(bars.size()) * (kBarHeight + kBarGap) + kBlockGap;
  height += 30;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const Machine& m = r.machine;
  const std::vector<unsigned>& loops = r.options.loops;
  std::string loops_text;
  for (unsigned n : loops) loops_text += (loops_text.empty() ? "" : ", ") + std::to_string(n);
  svg << "<text x=\"" << kMargin << "\" y=\"26\" font-size=\"17\" font-weight=\"bold\">"
      << "weft-bench: rate at " << loops_text << " loops</text>\n";
  svg << "<text x=\"" << kMargin << "\" y=\"44\" fill=\"#444\">"
      << escape(m.cpu_model + ", " + std::to_string(m.usable_cpus) + " usable CPUs, " + m.kernel +
                "; " + r.started_utc + "; commit " + short_commit(m.git_commit))
      << "</text>\n";
  svg << "<text x=\"" << kMargin << "\" y=\"60\" fill=\"#444\">"
      << escape(std::to_string(r.options.repetitions) +
                (r.options.repetitions == 1
                     ? " repetition: no spread (no whiskers, no ±)"
                     : " repetitions; ± is half the range between the slowest and the fastest") +
                (r.options.quick ? "; --quick: smoke sizes, figures not meaningful" : ""))
      << "</text>\n";
  // Legend: a sample bar with its whisker and its perfect-scaling tick, then what each means.
  const int ly = 70;
  svg << "<rect x=\"" << kMargin << "\" y=\"" << ly << "\" width=\"60\" height=\"" << kBarHeight
      << "\" fill=\"#999\"/>\n"
      << "<line x1=\"" << kMargin + 50 << "\" y1=\"" << ly + kBarHeight / 2 << "\" x2=\""
      << kMargin + 72 << "\" y2=\"" << ly + kBarHeight / 2 << "\" stroke=\"#222\"/>\n"
      << "<line x1=\"" << kMargin + 90 << "\" y1=\"" << ly - 1 << "\" x2=\"" << kMargin + 90
      << "\" y2=\"" << ly + kBarHeight + 1 << "\" stroke=\"#222\" stroke-width=\"2\"/>\n"
      << "<text x=\"" << kMargin + 100 << "\" y=\"" << ly + 11 << "\">"
      << escape(
             "bar: median of the repetitions; whisker: slowest to fastest repetition; "
             "tick: perfect scaling from the fewest loops")
      << "</text>\n";

  int y = kTop;
  for (std::size_t k = 0; k < r.scenarios.size(); ++k) {
    const ScenarioResult& sr = r.scenarios[k];
    const Scenario& s = *sr.scenario;
    const std::vector<Bar>& bars = blocks[k];
    svg << "<text x=\"" << kMargin << "\" y=\"" << y + 12 << "\" font-weight=\"bold\">"
        << escape(s.group + ": " + s.title) << "</text>\n";
    svg << "<text x=\"" << kMargin << "\" y=\"" << y + 27 << "\" fill=\"#555\" font-size=\"11\">"
        << escape(s.size) << "</text>\n";
    double block_max = 0;
    for (const Bar& b : bars) block_max = std::max(block_max, b.reach);
    const double px = block_max > 0 ? area / block_max : 0;
    int by = y + kHeadHeight;
    for (std::size_t i = 0; i < bars.size(); ++i, by += kBarHeight + kBarGap) {
      const Bar& b = bars[i];
      const unsigned n = b.config->loops;
      svg << "<text x=\"" << bar_x - 6 << "\" y=\"" << by + 11 << "\" text-anchor=\"end\">"
          << escape(axis_label(s, n)) << "</text>\n";
      if (!b.value) {
        svg << "<text x=\"" << bar_x + 4 << "\" y=\"" << by + 11 << "\" fill=\"#C00\">"
            << escape(b.label) << "</text>\n";
        continue;
      }
      const Spread& v = *b.value;
      const double w = std::max(1.0, v.median * px);
      svg << "<rect x=\"" << bar_x << "\" y=\"" << by << "\" width=\"" << fixed(w, 1)
          << "\" height=\"" << kBarHeight << "\" fill=\"" << kColours[i % std::size(kColours)]
          << "\"><title>" << escape(s.title + ", " + axis_label(s, n) + ": " + b.label)
          << "</title></rect>\n";
      const double mid = by + kBarHeight / 2.0;
      if (v.has_spread()) {
        const double x1 = bar_x + v.min * px;
        const double x2 = bar_x + v.max * px;
        svg << "<path d=\"M" << fixed(x1, 1) << ' ' << fixed(mid, 1) << "H" << fixed(x2, 1) << "M"
            << fixed(x1, 1) << ' ' << fixed(mid - 4, 1) << "v8M" << fixed(x2, 1) << ' '
            << fixed(mid - 4, 1) << "v8\" stroke=\"#222\" fill=\"none\"/>\n";
      }
      if (b.ideal) {
        const double ix = bar_x + *b.ideal * px;
        svg << "<line x1=\"" << fixed(ix, 1) << "\" y1=\"" << by - 1 << "\" x2=\"" << fixed(ix, 1)
            << "\" y2=\"" << by + kBarHeight + 1 << "\" stroke=\"#222\" stroke-width=\"2\"/>\n";
      }
      // At the end of the bar (or of its whisker). A perfect-scaling tick further right may
      // pass behind the label: the white halo keeps the text readable over it.
      svg << "<text x=\"" << fixed(bar_x + b.end * px + 8, 1) << "\" y=\"" << by + 11
          << "\" stroke=\"white\" stroke-width=\"4\" paint-order=\"stroke\">" << escape(b.label)
          << "</text>\n";
    }
    y += kHeadHeight + static_cast<int>(bars.size()) * (kBarHeight + kBarGap) + kBlockGap;
  }
  svg << "<text x=\"" << kMargin << "\" y=\"" << height - 12 << "\" fill=\"#666\" font-size=\"11\">"
      << "Each scenario has its own scale from 0. Baselines are measured in the same "
         "repetition; limits come from this machine (the table and the JSON give both).</text>\n";
  svg << "</svg>\n";

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << svg.str();
  out.close();
  if (!out) throw std::runtime_error("cannot write the SVG to " + path);
}

}  // namespace weft::bench
