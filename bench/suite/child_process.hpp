#pragma once

// A server of bench/io run as a child process of weft-bench, for the I/O scenarios.
//
// ChildProcess owns the process from start to reaping: it starts the binary (optionally
// pinned to a set of CPUs before exec, so no thread of the server ever runs elsewhere), keeps
// its stdout and stderr in anonymous memory files (memfd) that can be read at any time, also
// after it exited, and reads its CPU time from /proc/PID/stat. A ChildProcess that is still
// running when destroyed is killed (SIGKILL) and reaped, so a scenario that throws leaves no
// server behind; the child also gets SIGKILL if the thread that started it dies
// (PR_SET_PDEATHSIG), so a crashed weft-bench leaves none either.
//
// Why a memory file and not a pipe: nobody reads the server's output while it runs, and a
// pipe that fills (64 KiB) would block a server that reports a lot (stall reports) in the
// middle of a measurement.
//
// Around it: where the server binaries are (server_binary), a free loopback port to give them
// (free_loopback_port), and waiting until one accepts connections (wait_until_accepting).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cpu_times.hpp"
#include "unique_fd.hpp"

namespace weft::bench {

// How a child ended.
struct ExitStatus {
  int code = 0;                       // exit status, if it exited
  int signal = 0;                     // the signal that ended it, or 0
  bool killed_after_timeout = false;  // stop() had to send SIGKILL
  [[nodiscard]] bool clean() const noexcept { return signal == 0 && code == 0; }
  // "exit status 0", "killed by signal 9 (Killed)", ...
  [[nodiscard]] std::string describe() const;
};

class ChildProcess {
 public:
  // Starts `program` with `args` (argv[1...]); stdin is /dev/null. With `cpus` non-empty the
  // child is pinned to those CPUs before exec. Throws std::runtime_error naming the program
  // when it does not exist or cannot be started.
  ChildProcess(std::filesystem::path program, std::vector<std::string> args,
               std::vector<unsigned> cpus = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // The command as it would be typed, without the directory: "weft-echo 40123 --loops 1".
  [[nodiscard]] const std::string& command() const noexcept { return command_; }

  // False once the child has exited (reaps it then; exit_status() tells how).
  [[nodiscard]] bool running();
  [[nodiscard]] const ExitStatus& exit_status() const noexcept { return status_; }

  // utime + stime of every thread so far (/proc/PID/stat). Throws if the child has exited.
  [[nodiscard]] CpuTimes cpu_times() const;

  // SIGTERM, then waits up to `grace` for the child to exit, then SIGKILL. Returns how it
  // ended (also when it had already exited).
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Everything the child wrote so far (also after it exited).
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;

 private:
  void kill_and_reap() noexcept;
  void record_exit(int wait_status) noexcept;

  pid_t pid_ = -1;  // -1 once reaped (or moved from)
  std::string command_;
  UniqueFd stdout_;  // memfds the child's fd 1 and 2 point at
  UniqueFd stderr_;
  ExitStatus status_;
};

// The path of the bench/io server `name`: in $WEFT_BENCH_SERVER_DIR if set, else in the
// directory CMake baked in. Throws std::runtime_error naming the path if it is not there.
[[nodiscard]] std::filesystem::path server_binary(std::string_view name);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released).
// Another process could take it before the server binds it; on a benchmark machine nothing
// does, and the server then fails loudly (wait_until_accepting reports its stderr).
[[nodiscard]] std::uint16_t free_loopback_port();

// Waits until `server` printed `ready_text` on stdout (if not empty) and a connection to
// 127.0.0.1:port succeeds, retrying for up to `timeout`. The servers print their "listening
// on" line once every listener is bound: waiting for it, and not only for the first accepted
// connect, keeps a multi-loop server from getting all the load's connections on the listener
// that was bound first (SO_REUSEPORT spreads connections over the listeners bound at connect
// time). Throws std::runtime_error with the server's stderr if it exited or timed out.
void wait_until_accepting(ChildProcess& server, std::uint16_t port, std::string_view ready_text,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The CPUs this process may run on (sched_getaffinity), in increasing order.
[[nodiscard]] std::vector<unsigned> allowed_cpus();

}  // namespace weft::bench
