#include "cpu_times.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace weft::bench {

CpuTimes read_process_cpu_times(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream file(path);
  std::string line;
  if (!std::getline(file, line)) throw std::runtime_error("cannot read " + path);
  // The command name (field 2) is in parentheses and may itself hold spaces and ')': the
  // numbered fields resume after the last ')'. From there: state (3), ppid, pgrp, session,
  // tty_nr, tpgid, flags, minflt, cminflt, majflt, cmajflt, utime (14), stime (15).
  const std::size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) throw std::runtime_error("cannot parse " + path);
  std::istringstream fields(line.substr(name_end + 1));
  std::string skipped;
  for (int field = 3; field <= 13; ++field) fields >> skipped;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime)) throw std::runtime_error("cannot parse " + path);
  // Clock ticks (USER_HZ, 100 on Linux): the figures are exact to 10 ms.
  const auto ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {static_cast<double>(utime) / ticks_per_second,
          static_cast<double>(stime) / ticks_per_second};
}

bool measurable_cpu_time(double seconds) {
  return seconds * static_cast<double>(::sysconf(_SC_CLK_TCK)) >= kMinCpuTicks - 0.5;
}

}  // namespace weft::bench
