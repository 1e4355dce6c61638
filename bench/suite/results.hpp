#pragma once

// What a run of the suite produced, and the statistics every report derives from it. The
// reports (table, JSON, SVG, summary) only read these; none measures anything itself.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "machine.hpp"
#include "scenario.hpp"

namespace weft::bench {

// Median and range of a set of repetitions.
struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
  std::size_t count = 0;  // repetitions behind the figures
  // One repetition has no spread; "±0%" would claim a perfectly steady figure instead.
  [[nodiscard]] bool has_spread() const noexcept { return count >= 2; }
  // Half the range relative to the median: "±4%" in the table (0 without a spread).
  [[nodiscard]] double relative_half_range() const noexcept {
    return has_spread() && median > 0 ? (max - min) / 2 / median : 0;
  }
};

std::optional<Spread> spread_of(std::vector<double> values);

struct ConfigResult {
  unsigned loops = 1;
  std::vector<Measurement> repetitions;
  std::string error;   // non-empty: the configuration failed and has no figures
  double seconds = 0;  // wall time the configuration took, warm-up and setup included

  [[nodiscard]] bool ok() const noexcept { return error.empty() && !repetitions.empty(); }
  [[nodiscard]] std::optional<Spread> value() const;
  [[nodiscard]] std::optional<Spread> reference() const;
  [[nodiscard]] std::optional<Spread> extra(const std::string& name) const;
  // value / reference per repetition, then the median: both sides of each repetition were
  // measured at the same moment, so the per-repetition ratio cancels the machine's drift.
  [[nodiscard]] std::optional<Spread> reference_ratio() const;
};

struct ScenarioResult {
  const Scenario* scenario = nullptr;
  std::vector<ConfigResult> configs;  // in --loops order

  [[nodiscard]] const ConfigResult* base() const noexcept;  // the fewest loops that worked
  // median(value at `config`) / median(value at base()); empty if either failed.
  [[nodiscard]] std::optional<double> speedup(const ConfigResult& config) const;
  // speedup / (config.loops / base loops): 1.0 is perfect scaling.
  [[nodiscard]] std::optional<double> efficiency(const ConfigResult& config) const;
  [[nodiscard]] bool failed() const noexcept;
};

struct SuiteOptions {
  std::vector<unsigned> loops;
  unsigned repetitions = 5;
  bool quick = false;
  bool verbose = false;
  std::string filter;
};

struct SuiteResult {
  Machine machine;
  std::string started_utc;  // ISO 8601
  double seconds = 0;
  double load_before = 0;  // 1-minute load average at the start and at the end
  double load_after = 0;
  SuiteOptions options;
  std::vector<ScenarioResult> scenarios;
  std::string summary;
};

}  // namespace weft::bench
