#include "machine.hpp"

#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include "weft_bench_git.hpp"

#ifndef WEFT_BENCH_BUILD_TYPE
#define WEFT_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef WEFT_BENCH_COMPILER
#define WEFT_BENCH_COMPILER "unknown"
#endif

namespace weft::bench {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86 says "model name", many ARM kernels only "Hardware" or nothing at all.
    if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string model = line.substr(colon + 1);
        model.erase(0, model.find_first_not_of(" \t"));
        return model;
      }
    }
  }
  utsname u{};
  return ::uname(&u) == 0 ? std::string(u.machine) : "unknown";
}

}  // namespace

Machine describe_machine() {
  Machine m;
  m.cpu_model = cpu_model();
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  m.logical_cpus = online > 0 ? static_cast<unsigned>(online) : 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  m.usable_cpus = ::sched_getaffinity(0, sizeof set, &set) == 0
                      ? static_cast<unsigned>(CPU_COUNT(&set))
                      : m.logical_cpus;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  struct sysinfo info {};
  if (::sysinfo(&info) == 0)
    m.memory_bytes = static_cast<std::uint64_t>(info.totalram) * info.mem_unit;
  m.git_commit = WEFT_BENCH_GIT_COMMIT;
  m.compiler = WEFT_BENCH_COMPILER;
  m.build_type = WEFT_BENCH_BUILD_TYPE;
  return m;
}

std::string short_commit(const std::string& git_commit) {
  const std::string dirty = "-dirty";
  const bool is_dirty = git_commit.size() > dirty.size() && git_commit.ends_with(dirty);
  return git_commit.substr(0, 12) + (is_dirty ? dirty : "");
}

double load_average() {
  double load[1] = {0};
  return ::getloadavg(load, 1) == 1 ? load[0] : 0;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace weft::bench
