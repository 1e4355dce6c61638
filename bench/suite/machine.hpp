#pragma once

// The machine and build the figures belong to: printed above the table and kept in the JSON,
// because a number without its machine means nothing.

#include <cstdint>
#include <string>

namespace weft::bench {

struct Machine {
  std::string cpu_model;      // /proc/cpuinfo "model name" (or the architecture)
  unsigned logical_cpus = 0;  // online CPUs
  unsigned usable_cpus = 0;   // in this process's affinity mask: what --loops can use
  std::string kernel;         // uname: sysname release
  std::uint64_t memory_bytes = 0;
  std::string git_commit;
  std::string compiler;
  std::string build_type;
};

Machine describe_machine();

// "329f62851ba8" or "329f62851ba8-dirty": 12 hex digits, and whether the tree had changes.
std::string short_commit(const std::string& git_commit);

// The 1-minute load average: other work on the machine skews every figure.
double load_average();

// "2026-11-30T07:12:03Z"
std::string utc_now_iso8601();

}  // namespace weft::bench
