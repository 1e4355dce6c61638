#pragma once

// A process's CPU time from /proc/PID/stat, and when such a figure is too coarse to report.

#include <sys/types.h>

namespace weft::bench {

// A process's CPU time so far, all threads: utime and stime, in seconds counted in clock
// ticks (USER_HZ, 10 ms).
struct CpuTimes {
  double user_s = 0;
  double system_s = 0;
};

// Below this many clock ticks a CPU time is mostly rounding (a few ticks are ±25% or worse,
// zero ticks is no measurement at all), so the per-operation figure built on it is left out
// and the table prints it as n/a: a --quick window is that short.
inline constexpr unsigned kMinCpuTicks = 10;
[[nodiscard]] bool measurable_cpu_time(double seconds);

// utime and stime of any process, every thread (/proc/PID/stat). Throws if it cannot be read.
[[nodiscard]] CpuTimes read_process_cpu_times(pid_t pid);

}  // namespace weft::bench
