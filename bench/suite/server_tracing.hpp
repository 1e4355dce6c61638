#pragma once

// Counting a server's syscalls over one load window, for weft-load's --strace and --perf and
// weft-probe run (around a wrk run, which has no quiet edges: see weft_probe.cpp).
// Both attach to a running process by pid and are started and stopped at the window's quiet
// edges (load_generator.hpp), so what they count belongs to the requests of that window.
//
// strace (`strace -f -c -q -p PID -o FILE`): stops the server at every syscall, which slows
// it about tenfold, so the server becomes the bottleneck and sees large batches; the start
// waits until every thread of the server reports strace as its tracer (TracerPid in
// /proc/PID/task/*/status). perf (`perf stat -x, --delay=-1 --control fd:...`) counts at full
// speed: it starts with its events disabled and is switched on and off through its control
// pipe, each switch acknowledged before the window opens or after it closes.
//
// Both throw std::runtime_error on failure (the tool missing, no permission to attach).

#include <sys/types.h>

#include <string>

namespace weft::bench {

class StraceCount {
 public:
  StraceCount(pid_t server, const std::string& output_path);
  StraceCount(const StraceCount&) = delete;
  StraceCount& operator=(const StraceCount&) = delete;
  // Stops strace if stop() was not called (it then writes its summary all the same).
  ~StraceCount();
  // SIGINT: strace detaches and writes its -c summary; returns once it has exited.
  void stop();

 private:
  pid_t child_ = -1;
};

class PerfSyscallCount {
 public:
  // Starts perf and enables its counters.
  PerfSyscallCount(pid_t server, const std::string& output_path);
  PerfSyscallCount(const PerfSyscallCount&) = delete;
  PerfSyscallCount& operator=(const PerfSyscallCount&) = delete;
  ~PerfSyscallCount();
  // Disables the counters, then ends perf, which writes the counts.
  void stop();

 private:
  void command(const std::string& text);
  pid_t child_ = -1;
  int control_ = -1;  // we write "enable\n" / "disable\n"
  int ack_ = -1;      // perf answers "ack\n"
};

}  // namespace weft::bench
