// weft-bench: the benchmark suite that compares single-loop and multi-loop throughput.
//
//   weft-bench [--loops 1,2,4] [--repetitions N] [--filter REGEX] [--quick] [--list]
//              [--json FILE] [--plot FILE.svg] [--verbose]
//
// It answers one question on whatever machine it runs: what do many loops buy over one, for
// each kind of work, and how close does weft come to the machine's limit? Every scenario
// (scenario.hpp; one file per group) runs at each loop count with a warm-up and several
// repetitions; the table on stdout gives medians with their spread, the speedup and
// efficiency of the most loops over the fewest, and the ratio to a baseline measured in the
// same repetition or to a limit computed from this machine. Progress goes to stderr.
//
// Exit status: 0 if every scenario produced its figures, 1 if one failed (its error is in
// the table and the JSON; the others still ran), 2 for a bad command line. A scenario this
// machine cannot run (io/https_hello without nginx) is skipped with a line saying why, after
// the table, and is not a failure.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "cli.hpp"
#include "machine.hpp"
#include "report.hpp"
#include "results.hpp"
#include "scenario.hpp"

namespace {

using namespace weft::bench;

std::vector<Scenario> all_scenarios() {
  std::vector<Scenario> all;
  add_scheduler_scenarios(all);
  add_composition_scenarios(all);
  add_tutorial_scenarios(all);
  add_web_scraper_scenarios(all);
  add_hashing_scenarios(all);
  add_io_scenarios(all);
  return all;
}

// The progress line on stderr: redrawn in place on a terminal, one line per configuration
// otherwise (a CI log or a file should not fill with carriage returns).
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() { clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void start(std::size_t step, std::size_t steps, const std::string& what) {
    prefix_ = "[" + std::to_string(step) + "/" + std::to_string(steps) + "] " + what;
    if (tty_) {
      draw(prefix_);
    } else {
      std::fprintf(stderr, "weft-bench: %s\n", prefix_.c_str());
    }
  }
  void detail(const std::string& text) {
    if (tty_) draw(prefix_ + ": " + text);
  }
  void note(const std::string& line) {
    clear();
    std::fprintf(stderr, "weft-bench: %s\n", line.c_str());
  }
  void clear() {
    if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  void draw(const std::string& text) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  bool tty_;
  bool drawn_ = false;
  std::string prefix_;
};

std::string loops_phrase(const Scenario& s, unsigned n) {
  std::string axis = s.axis;
  if (n == 1 && axis.back() == 's') axis.pop_back();
  return std::to_string(n) + " " + axis;
}

}  // namespace

int main(int argc, char** argv) {
  SuiteResult result;
  result.machine = describe_machine();
  auto parsed = parse_command_line(argc, argv, result.machine.usable_cpus);
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    std::fprintf(stderr, "weft-bench: %s\n\n%s", error->message.c_str(), usage_text());
    return 2;
  }
  const CommandLine& cl = std::get<CommandLine>(parsed);
  if (cl.help) {
    std::fputs(usage_text(), stdout);
    return 0;
  }
  result.options = cl.suite;

  std::vector<Scenario> scenarios = all_scenarios();
  if (!cl.suite.filter.empty()) {
    const std::regex filter(cl.suite.filter);
    std::erase_if(scenarios, [&](const Scenario& s) { return !std::regex_search(s.id, filter); });
    if (scenarios.empty()) {
      std::fprintf(stderr, "weft-bench: --filter '%s' matches no scenario (see --list)\n",
                   cl.suite.filter.c_str());
      return 2;
    }
  }
  if (cl.list) {
    for (const Scenario& s : scenarios) {
      std::printf("%-34s %-14s %s", s.id.c_str(), s.unit.c_str(), s.size.c_str());
      if (!s.skip_reason.empty()) std::printf(" (skipped: %s)", s.skip_reason.c_str());
      std::printf("\n");
    }
    return 0;
  }

  result.started_utc = utc_now_iso8601();
  result.load_before = load_average();
  print_header(stdout, result);
  std::fflush(stdout);

  const auto suite_start = std::chrono::steady_clock::now();
  const std::size_t steps = scenarios.size() * cl.suite.loops.size();
  std::size_t step = 0;
  Progress progress;
  std::vector<std::string> skipped;
  for (const Scenario& s : scenarios) {
    if (!s.skip_reason.empty()) {
      skipped.push_back(s.id + " skipped: " + s.skip_reason);
      progress.note(skipped.back());
      continue;
    }
    ScenarioResult sr{.scenario = &s, .configs = {}};
    for (unsigned loops : cl.suite.loops) {
      progress.start(++step, steps, s.id + ", " + loops_phrase(s, loops));
      RunConfig config{
          .loops = loops,
          .repetitions = cl.suite.repetitions,
          .quick = cl.suite.quick,
          .cores = result.machine.usable_cpus,
          .progress = [&progress](const std::string& text) { progress.detail(text); },
      };
      ConfigResult cr{.loops = loops, .repetitions = {}, .error = {}, .seconds = 0};
      const auto start = std::chrono::steady_clock::now();
      try {
        cr.repetitions = s.run(config);
        if (cr.repetitions.empty()) cr.error = "produced no measurement";
      } catch (const std::exception& e) {
        cr.error = e.what();
      }
      cr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!cr.error.empty())
        progress.note(s.id + " at " + loops_phrase(s, loops) + " failed: " + cr.error);
      sr.configs.push_back(std::move(cr));
    }
    result.scenarios.push_back(std::move(sr));
  }
  progress.clear();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - suite_start).count();
  result.load_after = load_average();
  result.summary = summarize(result);

  print_table(stdout, result);
  for (const std::string& line : skipped) std::printf("%s\n", line.c_str());
  std::printf("\n%s\n", result.summary.c_str());
  int status = 0;
  for (const ScenarioResult& sr : result.scenarios)
    if (sr.failed()) status = 1;
  try {
    if (!cl.json_path.empty()) {
      write_json(cl.json_path, result);
      std::printf("JSON: %s\n", cl.json_path.c_str());
    }
    if (!cl.plot_path.empty()) {
      write_svg(cl.plot_path, result);
      std::printf("SVG:  %s\n", cl.plot_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-bench: %s\n", e.what());
    status = 1;
  }
  return status;
}
