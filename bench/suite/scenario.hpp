#pragma once

// weft-bench's data model. A Scenario is a named workload of fixed size; the driver
// (main.cpp) runs it once per configuration (1 loop, N loops, ... from --loops) and gets back
// one Measurement per repetition. Every figure is a rate, higher is better, so the speedup of
// N loops is value(N) / value(1) for every scenario alike.
//
// Where a scenario has something to compare with, each repetition also carries `reference`:
// either a baseline measured in the same repetition (the raw-epoll C server, the sequential
// tutorial) or a limit computed from the machine (the same buffers hashed inline on one
// thread, times the workers). Measuring the baseline inside the repetition, right next to weft's
// run, keeps the ratio honest on a noisy machine: both sides see the same moment's noise.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace weft::bench {

// What a scenario is told about the run it is part of.
struct RunConfig {
  // Loops of the runtime under test (for the hashing scenario: workers of the to_thread pool).
  unsigned loops = 1;
  // Measured repetitions; every scenario also runs one unmeasured warm-up first.
  unsigned repetitions = 5;
  // --quick: sizes cut so the whole suite takes seconds (a smoke run, figures not meaningful).
  bool quick = false;
  // Usable cores (sched_getaffinity), for placement decisions.
  unsigned cores = 1;
  // Reports progress within the configuration ("rep 2/5"); the driver draws the line.
  std::function<void(const std::string&)> progress;
};

// One repetition.
struct Measurement {
  double value = 0;                      // in Scenario::unit
  std::optional<double> reference;       // baseline or limit, same unit
  std::map<std::string, double> extras;  // named side figures (latency, CPU, steals, ...)
};

enum class ReferenceKind { none, baseline, limit };

struct Scenario {
  std::string id;              // "scheduler/spawn_storm": what --filter matches and JSON keys on
  std::string group;           // "scheduler", "composition", "tutorial", "parallelism", "io"
  std::string title;           // "spawn storm"
  std::string unit;            // "tasks/s"
  std::string size;            // the fixed workload, e.g. "1,000,000 tasks spawned by one task"
  std::string axis = "loops";  // what --loops sets: "loops", "pool workers", ...
  ReferenceKind reference_kind = ReferenceKind::none;
  std::string reference_label{};  // "raw epoll C server", "nginx, 1 worker", ...
  // Side figures worth a column in the table (keys of Measurement::extras), in order.
  std::vector<std::string> shown_extras{};
  // Side figures shown only with --verbose.
  std::vector<std::string> verbose_extras{};
  // Not empty: the scenario cannot run on this machine (what it needs is missing, and this
  // says what); the driver prints it as skipped, not failed, and runs the others.
  std::string skip_reason{};
  // Runs the warm-up and config.repetitions measured repetitions. Throws on failure (the
  // driver reports it, marks the scenario failed and goes on with the next one).
  using Run = std::function<std::vector<Measurement>(const RunConfig&)>;
  Run run;
};

// The registries, one per group (one file each).
void add_scheduler_scenarios(std::vector<Scenario>& out);
void add_composition_scenarios(std::vector<Scenario>& out);
void add_tutorial_scenarios(std::vector<Scenario>& out);
void add_web_scraper_scenarios(std::vector<Scenario>& out);
void add_hashing_scenarios(std::vector<Scenario>& out);
void add_io_scenarios(std::vector<Scenario>& out);

}  // namespace weft::bench
