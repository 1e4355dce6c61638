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

// A CPU time of zero clock ticks is no measurement at all (the process may have run for up
// to a tick), so a per-operation figure built on it is left out and the table prints it as
// n/a, as in a --quick window. From one tick on the figure is kept: coarse (a window of a few
// ticks is ±1 tick), but a measurement, and a full run's 5-repetition median smooths it.
inline constexpr unsigned kMinCpuTicks = 1;
[[nodiscard]] bool measurable_cpu_time(double seconds);

// utime and stime of any process, every thread (/proc/PID/stat). Throws if it cannot be read.
[[nodiscard]] CpuTimes read_process_cpu_times(pid_t pid);

}  // namespace weft::bench
