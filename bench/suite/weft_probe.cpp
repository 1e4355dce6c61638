// weft-probe: what scripts/bench-io needs around a load it does not generate itself (wrk), so
// that the script holds no measuring logic of its own.
//
//   weft-probe free-port
//       prints a TCP port on 127.0.0.1 that was free a moment ago (child_process.hpp).
//   weft-probe run --server-pid PID [--strace FILE] [--perf FILE] [--settle S] -- COMMAND...
//       reads the server's utime and stime (/proc/PID/stat), starts the syscall counters
//       (server_tracing.hpp: strace -f -c, or perf stat on the syscall tracepoints), runs
//       COMMAND with this process's stdin, stdout and stderr, waits `settle` seconds (0) after
//       it exits, stops the counters and reads the CPU times again; then prints
//       server_user_s=... and server_sys_s=... (seconds, in clock ticks of 10 ms) on stdout,
//       after whatever COMMAND printed there.
//
// The settle time is for a load that has no quiet edge: wrk closes its connections when it
// exits, and the server's side of those closes belongs to the requests counted. Exit status:
// 0, or 1 with a message on stderr when COMMAND fails or a counter cannot start, 2 for a bad
// command line.

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "cpu_times.hpp"
#include "server_tracing.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's argument

namespace {

using namespace weft::bench;

[[noreturn]] void usage() {
  std::fputs(
      "usage: weft-probe free-port\n"
      "       weft-probe run --server-pid PID [--strace FILE] [--perf FILE] [--settle S]"
      " -- COMMAND...\n",
      stderr);
  std::exit(2);
}

// Runs argv to its end (PATH searched); throws unless it exits with status 0.
void run_to_end(char** argv) {
  pid_t child = -1;
  const int error = ::posix_spawnp(&child, argv[0], nullptr, nullptr, argv, environ);
  if (error != 0)
    throw std::runtime_error(std::string("cannot run ") + argv[0] + ": " + std::strerror(error));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  throw std::runtime_error(std::string(argv[0]) +
                           (WIFEXITED(status)
                                ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                : " was killed by signal " + std::to_string(WTERMSIG(status))));
}

int run(int argc, char** argv) {
  pid_t server = 0;
  std::string strace_out;
  std::string perf_out;
  double settle = 0;
  int i = 2;
  for (; i < argc && std::string_view(argv[i]) != "--"; i += 2) {
    if (i + 1 >= argc) usage();
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    char* end = nullptr;
    if (flag == "--server-pid") {
      server = static_cast<pid_t>(std::strtol(value, &end, 10));
    } else if (flag == "--settle") {
      settle = std::strtod(value, &end);
    } else if (flag == "--strace") {
      strace_out = value;
    } else if (flag == "--perf") {
      perf_out = value;
    } else {
      usage();
    }
    if (end != nullptr && *end != '\0') usage();
  }
  if (server <= 0 || settle < 0 || i + 1 >= argc) usage();

  const CpuTimes before = read_process_cpu_times(server);
  std::unique_ptr<StraceCount> strace;
  std::unique_ptr<PerfSyscallCount> perf;
  if (!strace_out.empty()) strace = std::make_unique<StraceCount>(server, strace_out);
  if (!perf_out.empty()) perf = std::make_unique<PerfSyscallCount>(server, perf_out);
  // Our own buffered output must not end up after COMMAND's.
  std::fflush(stdout);
  run_to_end(argv + i + 1);
  std::this_thread::sleep_for(std::chrono::duration<double>(settle));
  if (strace) strace->stop();
  if (perf) perf->stop();
  const CpuTimes after = read_process_cpu_times(server);
  std::printf("server_user_s=%.3f\nserver_sys_s=%.3f\n", after.user_s - before.user_s,
              after.system_s - before.system_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const std::string_view command = argv[1];
  try {
    if (command == "free-port" && argc == 2) {
      std::printf("%u\n", static_cast<unsigned>(free_loopback_port()));
      return 0;
    }
    if (command == "run") return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-probe: %s\n", e.what());
    return 1;
  }
  usage();
}
