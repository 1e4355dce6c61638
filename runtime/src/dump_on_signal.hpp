#pragma once

// DumpOnSignal: RuntimeOptions::dump_signal's thread. It sleeps in poll() on the dump
// signal's signalfd (SignalHub::dump_fd) and on an eventfd, and for each signal takes a task
// dump and reports its text (ReportKind::task_dump: stderr by default).
//
// Its own thread, not a loop: the dump is wanted most when the loops are stuck, and a dump
// never waits for a loop (task_dump.cpp), so this thread answers whatever they do. The
// eventfd carries two things: a dump signal that a oneTBB worker read first while draining
// what was pending (SignalHub::deliver passes it on through request()), and the stop.

#include <atomic>
#include <thread>

#include "file_descriptor.hpp"

namespace weft::detail {

class Scheduler;

class DumpOnSignal {
 public:
  // Starts the thread; `signal_fd` stays owned by the SignalHub, which outlives this.
  DumpOnSignal(Scheduler& scheduler, int signal_fd);
  DumpOnSignal(const DumpOnSignal&) = delete;
  DumpOnSignal& operator=(const DumpOnSignal&) = delete;
  ~DumpOnSignal();  // stops and joins the thread; a dump in progress finishes first

  // A dump signal read elsewhere: take the dump on this thread. Any thread, async-signal-free.
  static void request(void* self) noexcept;

 private:
  void run();

  Scheduler& scheduler_;
  const int signal_fd_;
  FileDescriptor wake_fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weft::detail
