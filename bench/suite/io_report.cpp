// weft-io-report: scripts/bench-io's tables, in markdown, from the figures the script kept.
//
//   weft-io-report UNIT RESULTS [MEMORY]
//
// UNIT names what one operation is ("msg", "req"). RESULTS holds one tab-separated row per
// server config and repeat:
//   label command repeat units rate user_s sys_s strace_units strace_file perf_units perf_file
// where label is "raw N" or "weft N" (N threads / loops), units the operations of the CPU
// window, rate its operations per second, user_s and sys_s the server's CPU in it,
// strace_file a `strace -c` summary over strace_units operations, and perf_file a
// `perf stat -x,` output over perf_units operations (perf_units 0: no perf run). MEMORY holds
// one row per idle-connection run: command, connections, VmRSS before and after (KiB).
//
// Printed: per config in order of first appearance, the medians over the repeats of
// operations/s, user, sys and total CPU µs per operation and syscalls per operation (strace,
// and perf when there are perf counts); for weft, the medians of its per-repeat ratios (CPU,
// rate) and differences (syscalls) against the raw config with the same N in the same repeat.
// Then the syscalls per operation by call (medians), then the memory table.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

// Syscall counts of one traced run: the total, and per call (perf: only the calls it counts
// one by one, the rest as "other").
struct Calls {
  double total = 0;
  std::map<std::string, double> by_call;
};

// One server config's figures in one repeat.
struct Row {
  std::string label;
  std::string command;
  std::string repeat;
  // rate and krate (per second, thousands per second), and per operation: user, sys, cpu (µs),
  // strace and perf (syscalls).
  std::map<std::string, double> figures;
  std::map<std::string, std::map<std::string, double>> by_call;  // tool -> call -> per op
};

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, separator)) fields.push_back(field);
  return fields;
}

std::ifstream open(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  return file;
}

bool is_number(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789.") == std::string::npos;
}

// `strace -c`: "% time  seconds  usecs/call  calls  [errors]  syscall" rows, then "total".
Calls strace_calls(const std::string& path) {
  std::ifstream file = open(path);
  Calls calls;
  std::string line;
  std::optional<double> total;
  while (std::getline(file, line)) {
    std::vector<std::string> f;
    std::istringstream words(line);
    for (std::string w; words >> w;) f.push_back(w);
    if (f.size() < 5 || !is_number(f[0]) || !is_number(f[3])) continue;
    if (f.back() == "total") {
      total = std::stod(f[3]);
    } else {
      calls.by_call[f.back()] = std::stod(f[3]);
    }
  }
  calls.total = 0;
  for (const auto& [name, n] : calls.by_call) calls.total += n;
  if (total) calls.total = *total;
  return calls;
}

// `perf stat -x,`: "count,unit,event,..." rows.
Calls perf_calls(const std::string& path) {
  std::ifstream file = open(path);
  constexpr std::string_view kPrefix = "syscalls:sys_enter_";
  Calls calls;
  std::optional<double> total;
  std::string line;
  while (std::getline(file, line)) {
    const std::vector<std::string> f = split(line, ',');
    if (f.size() < 3 || !is_number(f[0])) continue;
    if (f[2] == "raw_syscalls:sys_enter") {
      total = std::stod(f[0]);
    } else if (f[2].rfind(kPrefix, 0) == 0 && std::stod(f[0]) > 0) {
      calls.by_call[f[2].substr(kPrefix.size())] = std::stod(f[0]);
    }
  }
  if (!total) throw std::runtime_error("no raw_syscalls:sys_enter count in " + path);
  calls.total = *total;
  double named = 0;
  for (const auto& [name, n] : calls.by_call) named += n;
  calls.by_call["other"] = calls.total - named;
  return calls;
}

std::vector<Row> read_results(const std::string& path) {
  std::ifstream file = open(path);
  std::vector<Row> rows;
  std::string line;
  while (std::getline(file, line)) {
    const std::vector<std::string> f = split(line, '\t');
    if (f.size() != 11) throw std::runtime_error("not 11 fields in " + path + ": " + line);
    Row r{.label = f[0], .command = f[1], .repeat = f[2], .figures = {}, .by_call = {}};
    const double units = std::stod(f[3]);
    const double user = std::stod(f[5]);
    const double sys = std::stod(f[6]);
    r.figures["rate"] = std::stod(f[4]);
    r.figures["krate"] = r.figures["rate"] / 1e3;  // printed as "156k"
    r.figures["user"] = user / units * 1e6;
    r.figures["sys"] = sys / units * 1e6;
    r.figures["cpu"] = (user + sys) / units * 1e6;
    const auto add = [&r](const std::string& tool, const Calls& calls, double n) {
      r.figures[tool] = calls.total / n;
      for (const auto& [name, k] : calls.by_call) r.by_call[tool][name] = k / n;
    };
    add("strace", strace_calls(f[8]), std::stod(f[7]));
    if (std::stod(f[9]) > 0) add("perf", perf_calls(f[10]), std::stod(f[9]));
    rows.push_back(std::move(r));
  }
  return rows;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string format(const char* spec, double value) {
  char text[64];
  std::snprintf(text, sizeof text, spec, value);
  return text;
}

void print_row(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const std::string& c : cells) line += " " + c + " |";
  std::puts(line.c_str());
}

void report(const std::string& unit, const std::vector<Row>& rows) {
  std::vector<std::string> labels;  // in order of first appearance
  for (const Row& r : rows)
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
  const auto of = [&rows](const std::string& label) {
    std::vector<const Row*> mine;
    for (const Row& r : rows)
      if (r.label == label) mine.push_back(&r);
    return mine;
  };
  const auto col = [&](const std::string& label, const std::string& key) -> std::optional<double> {
    std::vector<double> v;
    for (const Row* r : of(label))
      if (r->figures.count(key) != 0) v.push_back(r->figures.at(key));
    if (v.empty()) return std::nullopt;
    return median(v);
  };
  // weft against the raw run of the same repeat with the same N.
  using How = std::function<double(double, double)>;
  const auto vs_raw = [&](const std::string& label, const std::string& key,
                          const How& how) -> std::optional<double> {
    if (label.rfind("weft ", 0) != 0) return std::nullopt;
    const std::string base = "raw " + label.substr(5);
    std::vector<double> v;
    for (const Row* r : of(label))
      for (const Row* b : of(base))
        if (b->repeat == r->repeat && r->figures.count(key) != 0 && b->figures.count(key) != 0)
          v.push_back(how(r->figures.at(key), b->figures.at(key)));
    if (v.empty()) return std::nullopt;
    return median(v);
  };
  const How ratio = [](double a, double b) { return a / b; };
  const How minus = [](double a, double b) { return a - b; };
  const auto cell = [](std::optional<double> v, const char* spec) {
    return v ? format(spec, *v) : std::string();
  };
  const bool have_perf =
      std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.figures.count("perf"); });

  std::vector<std::string> head{
      "server",         unit + "s/s",     unit + "s/s / raw", "user µs/" + unit,
      "sys µs/" + unit, "CPU µs/" + unit, "CPU / raw",        "syscalls/" + unit + " (strace)",
      "- raw"};
  if (have_perf) head.insert(head.end(), {"syscalls/" + unit + " (perf)", "- raw"});
  std::puts("");
  print_row(head);
  std::string rule = "|";
  for (std::size_t i = 0; i < head.size(); ++i) rule += "---|";
  std::puts(rule.c_str());
  for (const std::string& label : labels) {
    std::vector<std::string> cells{of(label).front()->command,
                                   cell(col(label, "krate"), "%.0fk"),
                                   cell(vs_raw(label, "rate", ratio), "%.2fx"),
                                   cell(col(label, "user"), "%.2f"),
                                   cell(col(label, "sys"), "%.2f"),
                                   cell(col(label, "cpu"), "%.2f"),
                                   cell(vs_raw(label, "cpu", ratio), "%.2fx"),
                                   cell(col(label, "strace"), "%.3f"),
                                   cell(vs_raw(label, "strace", minus), "%+.3f")};
    if (have_perf)
      cells.insert(cells.end(),
                   {cell(col(label, "perf"), "%.3f"), cell(vs_raw(label, "perf", minus), "%+.3f")});
    print_row(cells);
  }

  for (const std::string tool : {"strace", "perf"}) {
    if (tool == "perf" && !have_perf) continue;
    std::printf("\nSyscalls per %s by call, %s (medians):\n", unit.c_str(), tool.c_str());
    for (const std::string& label : labels) {
      std::map<std::string, std::vector<double>> per_call;
      for (const Row* r : of(label))
        if (r->by_call.count(tool) != 0)
          for (const auto& [name, v] : r->by_call.at(tool)) per_call[name].push_back(v);
      std::vector<std::pair<double, std::string>> sorted;
      for (auto& [name, v] : per_call) sorted.emplace_back(median(v), name);
      std::sort(sorted.rbegin(), sorted.rend());
      std::string line = "  " + label + ":";
      const char* separator = " ";
      for (const auto& [v, name] : sorted) {
        if (v <= 0) continue;
        line += separator + name + format(" %.4f", v);
        separator = ", ";
      }
      std::puts(line.c_str());
    }
  }
}

void memory(const std::string& path) {
  std::ifstream file = open(path);
  std::string line;
  bool first = true;
  while (std::getline(file, line)) {
    const std::vector<std::string> f = split(line, '\t');
    if (f.size() != 4) throw std::runtime_error("not 4 fields in " + path + ": " + line);
    if (first) {
      std::puts("\n| idle connections | server | RSS before | RSS after | bytes per connection |");
      std::puts("|---|---|---|---|---|");
      first = false;
    }
    const double n = std::stod(f[1]);
    const double before = std::stod(f[2]);
    const double after = std::stod(f[3]);
    print_row({f[1], "`" + f[0] + "`", format("%.1f MiB", before / 1024),
               format("%.1f MiB", after / 1024), format("%.0f", (after - before) * 1024 / n)});
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fputs("usage: weft-io-report UNIT RESULTS [MEMORY]\n", stderr);
    return 2;
  }
  try {
    const std::vector<Row> rows = read_results(argv[2]);
    if (!rows.empty()) report(argv[1], rows);
    if (argc == 4) memory(argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-io-report: %s\n", e.what());
    return 1;
  }
  return 0;
}
