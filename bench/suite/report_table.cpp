// The table on stdout. Widths are fixed so columns line up in a terminal and in a log; a
// figure is the median of the repetitions, "±x%" half the range between the slowest and the
// fastest repetition relative to that median (so a reader sees at once whether a difference
// between two columns is larger than the noise).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu_times.hpp"
#include "report.hpp"

namespace weft::bench {

namespace {

std::string loops_header(unsigned n) { return std::to_string(n) + (n == 1 ? " loop" : " loops"); }

// A single repetition has no spread: the cell is the bare figure, and the header line says
// "1 repetition: no spread" once for the whole table.
std::string with_spread(const Spread& s) {
  if (!s.has_spread()) return format_number(s.median);
  const double pct = s.relative_half_range() * 100;
  char buf[32];
  std::snprintf(buf, sizeof buf, " ±%.0f%%", pct);
  return format_number(s.median) + buf;
}

std::string ratio_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, r >= 100 ? "%.0fx" : "%.2fx", r);
  return buf;
}

std::string percent_text(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", r * 100);
  return buf;
}

// "1.03x / 0.98x raw epoll C server" (baselines) or "93% / 92% of OpenSSL ..." (limits), for
// the fewest and the most loops.
std::string reference_text(const ScenarioResult& sr) {
  const Scenario& s = *sr.scenario;
  if (s.reference_kind == ReferenceKind::none) return "";
  std::string out;
  const ConfigResult* first = nullptr;
  const ConfigResult* last = nullptr;
  for (const ConfigResult& c : sr.configs) {
    if (!c.reference_ratio()) continue;
    if (first == nullptr) first = &c;
    last = &c;
  }
  if (first == nullptr) return "";
  auto one = [&](const ConfigResult& c) {
    const double r = c.reference_ratio()->median;
    return s.reference_kind == ReferenceKind::limit ? percent_text(r) : ratio_text(r);
  };
  out = one(*first);
  if (last != first) out += " / " + one(*last);
  out += s.reference_kind == ReferenceKind::limit ? " of " : " vs ";
  return out + s.reference_label;
}

void print_row(std::FILE* out, const ScenarioResult& sr, const std::vector<unsigned>& loops) {
  const Scenario& s = *sr.scenario;
  std::fprintf(out, "  %-30s %-13s", s.title.c_str(), s.unit.c_str());
  for (unsigned n : loops) {
    std::string cell = "-";
    for (const ConfigResult& c : sr.configs)
      if (c.loops == n) cell = c.ok() ? with_spread(*c.value()) : "FAILED";
    std::fprintf(out, " %12s", cell.c_str());
  }
  std::string speedup = "-";
  std::string efficiency = "-";
  if (!sr.configs.empty() && sr.configs.size() > 1) {
    const ConfigResult& most = sr.configs.back();
    if (auto v = sr.speedup(most)) speedup = ratio_text(*v);
    if (auto v = sr.efficiency(most)) efficiency = percent_text(*v);
  }
  std::fprintf(out, " %8s %5s   %s\n", speedup.c_str(), efficiency.c_str(),
               reference_text(sr).c_str());
}

void print_details(std::FILE* out, const SuiteResult& result, bool* unmeasured) {
  bool header = false;
  for (const ScenarioResult& sr : result.scenarios) {
    const Scenario& s = *sr.scenario;
    std::vector<std::string> names = s.shown_extras;
    if (result.options.verbose)
      names.insert(names.end(), s.verbose_extras.begin(), s.verbose_extras.end());
    bool errors = false;
    for (const ConfigResult& c : sr.configs) errors |= !c.error.empty();
    if (names.empty() && !errors) continue;
    if (!header) {
      std::fprintf(out, "\nside figures (medians) and errors\n");
      header = true;
    }
    std::fprintf(out, "  %s (%s)\n", s.title.c_str(), s.size.c_str());
    for (const ConfigResult& c : sr.configs) {
      std::string line;
      if (!c.error.empty()) {
        line = "FAILED: " + c.error;
      } else {
        for (const std::string& name : names) {
          auto v = c.extra(name);
          if (!v) {
            // A side figure the scenario shows but this run could not measure (server CPU
            // under the clock-tick resolution): say so rather than print a false zero.
            if (std::find(s.shown_extras.begin(), s.shown_extras.end(), name) !=
                s.shown_extras.end()) {
              line += "  " + name + " n/a";
              *unmeasured = true;
            }
            continue;
          }
          line += "  " + name + " " + format_number(v->median);
          // With --verbose, a runtime counter also shows how it split over the loops.
          if (!result.options.verbose) continue;
          std::string split;
          for (unsigned i = 1; i <= c.loops; ++i) {
            auto part = c.extra("loop" + std::to_string(i) + "_" + name);
            if (!part) break;
            split += (split.empty() ? "" : " / ") + format_number(part->median);
          }
          if (c.loops > 1 && !split.empty()) line += " (" + split + ")";
        }
        if (auto ref = c.reference())
          line += "  reference " + format_number(ref->median) + " " + s.unit;
      }
      std::string axis = s.axis;
      if (c.loops == 1 && axis.back() == 's') axis.pop_back();
      std::fprintf(out, "    %3u %-13s%s\n", c.loops, (axis + ":").c_str(), line.c_str());
    }
  }
}

}  // namespace

std::string format_number(double value) {
  if (!std::isfinite(value)) return "n/a";
  const double a = std::fabs(value);
  const char* suffix = "";
  double scaled = value;
  if (a >= 1e9) {
    scaled = value / 1e9;
    suffix = "G";
  } else if (a >= 1e6) {
    scaled = value / 1e6;
    suffix = "M";
  } else if (a >= 1e4) {
    scaled = value / 1e3;
    suffix = "k";
  }
  const double s = std::fabs(scaled);
  char buf[32];
  if (s == 0 || s >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f%s", scaled, suffix);
  } else if (s >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f%s", scaled, suffix);
  } else if (s >= 1) {
    std::snprintf(buf, sizeof buf, "%.2f%s", scaled, suffix);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g%s", scaled, suffix);
  }
  return buf;
}

void print_header(std::FILE* out, const SuiteResult& r) {
  const Machine& m = r.machine;
  std::fprintf(out, "weft-bench  %s  commit %s  (%s, %s)\n", r.started_utc.c_str(),
               short_commit(m.git_commit).c_str(), m.compiler.c_str(), m.build_type.c_str());
  std::fprintf(out, "machine     %s; %u CPUs (%u usable); %s; %.1f GiB\n", m.cpu_model.c_str(),
               m.logical_cpus, m.usable_cpus, m.kernel.c_str(),
               static_cast<double>(m.memory_bytes) / (1ull << 30));
  std::string loops;
  for (unsigned n : r.options.loops) loops += (loops.empty() ? "" : ",") + std::to_string(n);
  std::fprintf(out, "run         loops %s; %u repetition%s each after a warm-up%s%s\n",
               loops.c_str(), r.options.repetitions, r.options.repetitions == 1 ? "" : "s",
               r.options.repetitions == 1 ? " (1 repetition: no spread)" : "",
               r.options.quick ? "; --quick: smoke-test sizes, figures not meaningful" : "");
}

void print_table(std::FILE* out, const SuiteResult& r) {
  const std::vector<unsigned>& loops = r.options.loops;
  std::fprintf(out, "\n  %-30s %-13s", "scenario", "unit");
  for (unsigned n : loops) std::fprintf(out, " %12s", loops_header(n).c_str());
  const std::string vs = loops.size() > 1
                             ? std::to_string(loops.back()) + " vs " + std::to_string(loops.front())
                             : "speedup";
  std::fprintf(out, " %8s %5s   %s\n", vs.c_str(), "eff.", "vs baseline or limit");
  std::string group;
  for (const ScenarioResult& sr : r.scenarios) {
    if (sr.scenario->group != group) {
      group = sr.scenario->group;
      std::fprintf(out, "%s\n", group.c_str());
    }
    print_row(out, sr, loops);
  }
  bool unmeasured = false;
  print_details(out, r, &unmeasured);
  if (unmeasured)
    std::fprintf(out,
                 "  n/a: too short a run to measure (server CPU is read in 10 ms clock ticks, "
                 "and the window saw fewer than %u)\n",
                 kMinCpuTicks);
  // Under 10 s, one decimal: a --quick run of a few scenarios must not read "in 0 s".
  std::fprintf(out, r.seconds < 10 ? "\n%zu scenarios in %.1f s" : "\n%zu scenarios in %.0f s",
               r.scenarios.size(), r.seconds);
  std::fprintf(out, "; load average %.2f before, %.2f after\n", r.load_before, r.load_after);
}

}  // namespace weft::bench
