// The paragraph under the table: what the numbers mean on this machine. Every sentence is
// built from the figures of this run and says nothing about a scenario that did not run or
// failed; the reasoning it states (what limits loopback I/O, why a serial chain cannot
// scale) is the part a reader would otherwise have to know.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "report.hpp"

namespace weft::bench {

namespace {

std::string x2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0fx" : "%.2fx", v);
  return buf;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
  return buf;
}

const ScenarioResult* find(const SuiteResult& r, const std::string& id) {
  for (const ScenarioResult& sr : r.scenarios)
    if (sr.scenario->id == id && !sr.failed() && sr.base() != nullptr) return &sr;
  return nullptr;
}

// The configuration with the most loops that worked, if it has more than the base.
const ConfigResult* most(const ScenarioResult& sr) {
  const ConfigResult* best = nullptr;
  for (const ConfigResult& c : sr.configs)
    if (c.ok() && (best == nullptr || c.loops > best->loops)) best = &c;
  return best != nullptr && best->loops > sr.base()->loops ? best : nullptr;
}

std::string loops_word(unsigned n) { return std::to_string(n) + (n == 1 ? " loop" : " loops"); }

void in_process_sentence(const SuiteResult& r, std::string& out) {
  struct Entry {
    std::string title;
    double speedup;
  };
  std::vector<Entry> entries;
  unsigned n = 0;
  unsigned base = 1;
  for (const ScenarioResult& sr : r.scenarios) {
    const std::string& g = sr.scenario->group;
    if ((g != "scheduler" && g != "composition") || sr.failed() || sr.base() == nullptr) continue;
    const ConfigResult* m = most(sr);
    if (m == nullptr) continue;
    entries.push_back({sr.scenario->title, *sr.speedup(*m)});
    n = m->loops;
    base = sr.base()->loops;
  }
  if (entries.empty()) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.speedup > b.speedup; });
  const double median = entries[entries.size() / 2].speedup;
  const std::string perfect = x2(static_cast<double>(n) / base);
  if (entries.size() == 1) {
    out += "With " + loops_word(n) + " instead of " + std::to_string(base) + ", " +
           entries.front().title + " ran " + x2(entries.front().speedup) +
           " as fast (perfect would be " + perfect + ")";
  } else {
    out += "With " + loops_word(n) + " instead of " + std::to_string(base) +
           ", the scheduler and composition scenarios ran " + x2(entries.back().speedup) + " to " +
           x2(entries.front().speedup) + " as fast (median " + x2(median) + ", perfect would be " +
           perfect + "); " + entries.front().title + " gained most";
  }
  if (entries.size() > 1 && entries.back().speedup < 1) {
    out += " and " + entries.back().title + " lost most";
    if (entries.back().title.find("Queue") != std::string::npos)
      out +=
          ": its 8 tasks do nothing but push to and pop from one shared queue, so with "
          "more loops the ring's head and tail words (lock-free, but written by every "
          "operation) move between cores each time, a cost one loop never pays";
    else if (entries.back().title.find("wait_for") != std::string::npos)
      out +=
          ": its calls run strictly one after another, so extra loops can only move each "
          "call's short-lived work between cores";
  }
  out += ". ";
  if (find(r, "scheduler/chained_spawn") != nullptr)
    out +=
        "Chained spawn is one strictly serial chain, so extra loops can only add hand-offs "
        "between them, and spawn storm has a single spawner that the other loops must steal "
        "from. ";
  const unsigned cpus = r.machine.usable_cpus;
  if (n > cpus) {
    out += "With " + loops_word(n) + " on " + std::to_string(cpus) +
           " usable CPUs, loops take turns on the cores: past the CPU count, more loops only "
           "add hand-offs and context switches. ";
  } else {
    out +=
        "What the loops lose against perfect scaling is the price of sharing: steals, "
        "wake-ups of parked loops, and cache lines that move between cores (--verbose "
        "counts the first two). ";
  }
}

void tutorial_sentence(const SuiteResult& r, std::string& out) {
  const ScenarioResult* sr = find(r, "tutorial/fetch_users");
  if (sr == nullptr) return;
  const ConfigResult& b = *sr->base();
  const auto round = b.extra("round_ms");
  const auto ratio = b.reference_ratio();
  if (!round || !ratio) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f ms", round->median);
  out += "The tutorial's simulated fetches, all in flight at once, took " + std::string(buf) +
         " per round at " + loops_word(b.loops) +
         " against an ideal of one 10 ms wait: " + x2(ratio->median) +
         " the users per second of fetching them one at a time, which no number of loops "
         "changes. ";
}

void hashing_sentence(const SuiteResult& r, std::string& out) {
  const ScenarioResult* sr = find(r, "parallelism/to_thread_sha256");
  if (sr == nullptr) return;
  const ConfigResult* m = most(*sr);
  const ConfigResult& c = m != nullptr ? *m : *sr->base();
  const auto ratio = c.reference_ratio();
  if (!ratio) return;
  out += "to_thread spread SHA-256 over " + std::to_string(c.loops) + " pool worker" +
         (c.loops == 1 ? "" : "s") + " at " + format_number(c.value()->median) + " MiB/s, " +
         pct(ratio->median) + " of hashing the same buffers inline on one thread per core";
  if (m != nullptr) out += " (" + x2(*sr->speedup(*m)) + " one worker)";
  out += ". ";
}

void io_sentence(const SuiteResult& r, std::string& out) {
  std::vector<const ScenarioResult*> io;
  for (const char* id : {"io/tcp_echo", "io/http_hello"})
    if (const ScenarioResult* sr = find(r, id)) io.push_back(sr);
  if (io.empty()) return;
  const unsigned cpus = r.machine.usable_cpus;
  out +=
      "Loopback I/O puts the load generator, the kernel's TCP stack and the server on the "
      "same " +
      std::to_string(cpus) + " CPU" + (cpus == 1 ? "" : "s");
  if (cpus <= 4) {
    out +=
        ": here the kernel and the client take most of each round trip's CPU, so the I/O "
        "rows are kernel-bound and their scaling is the machine's, not the runtime's. The "
        "fair figure is the ratio to the raw epoll C server, measured the same way in each "
        "repetition: ";
  } else {
    out +=
        "; the fair figure is the ratio to the raw epoll C server, measured the same way in "
        "each repetition: ";
  }
  bool first = true;
  for (const ScenarioResult* sr : io) {
    const ConfigResult& b = *sr->base();
    const ConfigResult* m = most(*sr);
    if (!b.reference_ratio()) continue;
    out += std::string(first ? "" : "; ") + sr->scenario->title + " " +
           x2(b.reference_ratio()->median) + " at " + loops_word(b.loops);
    if (m != nullptr && m->reference_ratio())
      out += " and " + x2(m->reference_ratio()->median) + " at " + loops_word(m->loops);
    first = false;
  }
  out += ". ";
  // Where the server's CPU went: user time is weft (or the baseline), system time the kernel.
  const ScenarioResult* echo = io.front();
  const ConfigResult& b = *echo->base();
  const auto user = b.extra("server_user_us_per_op");
  const auto total = b.extra("server_cpu_us_per_op");
  const auto raw_user = b.extra("raw_server_user_us_per_op");
  if (user && total && raw_user && total->median > 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "Per message of %s at %s, weft's server spent %.2f us in user space out of "
                  "%.2f us of CPU (the baseline %.2f us in user space); the rest is the "
                  "kernel's TCP path. ",
                  echo->scenario->title.c_str(), loops_word(b.loops).c_str(), user->median,
                  total->median, raw_user->median);
    out += buf;
  }
}

// HTTPS: the server CPU per request against nginx's, the figure TLS work is judged by (the
// request rate on a small machine is the client's and the kernel's as much as the server's).
void https_sentence(const SuiteResult& r, std::string& out) {
  const ScenarioResult* sr = find(r, "io/https_hello");
  if (sr == nullptr) return;
  bool first = true;
  for (const ConfigResult* c : {sr->base(), most(*sr)}) {
    if (c == nullptr || !c->ok()) continue;
    const auto ours = c->extra("server_cpu_us_per_op");
    const auto nginx = c->extra("nginx_server_cpu_us_per_op");
    if (!ours || !nginx || nginx->median <= 0) continue;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s%.2f us at %s (%.2fx nginx's %.2f us)",
                  first ? "Over TLS, weft's server spent " : "; ", ours->median,
                  loops_word(c->loops).c_str(), ours->median / nginx->median, nginx->median);
    out += buf;
    first = false;
  }
  if (!first) out += " of CPU per keep-alive request against nginx with one worker. ";
}

void mixed_sentence(const SuiteResult& r, std::string& out) {
  const unsigned cpus = r.machine.usable_cpus;
  if (const ScenarioResult* mixed = find(r, "io/http_sha256")) {
    const ConfigResult* m = most(*mixed);
    const ConfigResult& c = m != nullptr ? *m : *mixed->base();
    if (auto ratio = c.reference_ratio()) {
      out += "The mixed server, whose handler hashes each 16 KiB body with to_thread, reached " +
             pct(ratio->median) + " of the hash-only limit at " + loops_word(c.loops);
      if (m != nullptr) out += " (" + x2(*mixed->speedup(*m)) + " its 1-loop rate)";
      out += cpus <= 4 ? ": the limit counts every core as a hashing core, but here the client "
                         "that sends the 16 KiB bodies and the kernel that copies them run on "
                         "the same cores. "
                       : ": the rest goes to receiving, parsing and answering each request. ";
    }
  }
}

void noise_sentence(const SuiteResult& r, std::string& out) {
  double worst = 0;
  std::string where;
  for (const ScenarioResult& sr : r.scenarios)
    for (const ConfigResult& c : sr.configs)
      if (auto v = c.value(); v && v->relative_half_range() > worst) {
        worst = v->relative_half_range();
        where = sr.scenario->title + " at " + loops_word(c.loops);
      }
  if (r.options.quick) {
    out +=
        "This was a --quick smoke run: the sizes are too small for the figures to mean "
        "anything. ";
  } else if (r.options.repetitions < 3) {
    out += "With fewer than 3 repetitions the spreads say little; use --repetitions 5 or more. ";
  } else if (worst > 0.10) {
    out += "The widest spread was ±" + pct(worst) + " (" + where +
           "): differences smaller than the spreads are noise; a quieter machine or more "
           "--repetitions narrows them. ";
  }
  bool failed = false;
  for (const ScenarioResult& sr : r.scenarios) failed |= sr.failed();
  if (failed) out += "Some scenarios FAILED; their errors are listed above the summary. ";
}

}  // namespace

std::string summarize(const SuiteResult& r) {
  std::string out;
  in_process_sentence(r, out);
  tutorial_sentence(r, out);
  hashing_sentence(r, out);
  io_sentence(r, out);
  https_sentence(r, out);
  mixed_sentence(r, out);
  noise_sentence(r, out);
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace weft::bench
