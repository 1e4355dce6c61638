#include "server_tracing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace weft::bench {

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// True when every thread of `pid` is traced by `tracer`.
bool all_threads_traced(pid_t pid, pid_t tracer) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task_dir.c_str());
  if (dir == nullptr) throw std::runtime_error(errno_text(task_dir));
  bool all = true;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream status(task_dir + "/" + entry->d_name + "/status");
    if (!status) continue;  // the thread just exited
    int traced_by = 0;
    std::string line;
    while (std::getline(status, line))
      if (std::sscanf(line.c_str(), "TracerPid: %d", &traced_by) == 1) break;
    if (traced_by != tracer) {
      all = false;
      break;
    }
  }
  ::closedir(dir);
  return all;
}

// fork + exec of `argv`; in the child, `fds` are (from, to) pairs dup2'ed before the exec.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::pair<int, int>>& fds) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error(errno_text("fork"));
  if (child == 0) {
    // dup2 clears close-on-exec on the copy: these are the only descriptors passed on.
    for (const auto& [from, to] : fds)
      if (::dup2(from, to) < 0) ::_exit(127);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  return child;
}

void interrupt_and_wait(pid_t& child, const char* name) {
  if (child < 0) return;
  const pid_t pid = child;
  child = -1;
  if (::kill(pid, SIGINT) != 0) throw std::runtime_error(errno_text(std::string("kill ") + name));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(errno_text(std::string("waitpid ") + name));
}

// The syscalls an echo or HTTP server makes per message and per connection, each counted on
// its own (epoll_wait: the raw servers; epoll_pwait2: weft's loops); raw_syscalls:sys_enter
// counts them all.
constexpr const char* kPerfEvents =
    "raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,"
    "syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,"
    "syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait2,syscalls:sys_enter_futex,"
    "syscalls:sys_enter_epoll_ctl,"
    "syscalls:sys_enter_accept4,syscalls:sys_enter_close,syscalls:sys_enter_shutdown,"
    "syscalls:sys_enter_fcntl,syscalls:sys_enter_getpeername,syscalls:sys_enter_setsockopt,"
    "syscalls:sys_enter_sched_yield";

}  // namespace

StraceCount::StraceCount(pid_t server, const std::string& output_path) {
  child_ = spawn({"strace", "-f", "-c", "-q", "-p", std::to_string(server), "-o", output_path}, {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!all_threads_traced(server, child_)) {
    int status = 0;
    if (::waitpid(child_, &status, WNOHANG) == child_) {
      child_ = -1;
      throw std::runtime_error("strace exited before attaching to " + std::to_string(server));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      interrupt_and_wait(child_, "strace");
      throw std::runtime_error("strace did not attach within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StraceCount::~StraceCount() {
  try {
    stop();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): nothing left to report to
  }
}

void StraceCount::stop() { interrupt_and_wait(child_, "strace"); }

PerfSyscallCount::PerfSyscallCount(pid_t server, const std::string& output_path) {
  int control[2];
  int ack[2];
  if (::pipe2(control, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  if (::pipe2(ack, O_CLOEXEC) != 0) {
    ::close(control[0]);
    ::close(control[1]);
    throw std::runtime_error(errno_text("pipe2"));
  }
  // perf's control descriptors are 3 (commands in) and 4 (acknowledgements out).
  try {
    child_ = spawn({"perf", "stat", "-x,", "-o", output_path, "--delay=-1", "--control", "fd:3,4",
                    "-e", kPerfEvents, "-p", std::to_string(server)},
                   {{control[0], 3}, {ack[1], 4}});
  } catch (...) {
    for (int fd : {control[0], control[1], ack[0], ack[1]}) ::close(fd);
    throw;
  }
  ::close(control[0]);
  ::close(ack[1]);
  control_ = control[1];
  ack_ = ack[0];
  command("enable\n");
}

PerfSyscallCount::~PerfSyscallCount() {
  try {
    stop();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): nothing left to report to
  }
  for (int fd : {control_, ack_})
    if (fd >= 0) ::close(fd);
}

void PerfSyscallCount::command(const std::string& text) {
  if (::write(control_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(errno_text("perf control"));
  char reply[16] = {};
  std::size_t got = 0;
  while (got < 4) {  // "ack\n"
    const ssize_t n = ::read(ack_, reply + got, sizeof reply - 1 - got);
    if (n <= 0)
      throw std::runtime_error("perf did not acknowledge '" + text.substr(0, text.size() - 1) +
                               "'");
    got += static_cast<std::size_t>(n);
  }
}

void PerfSyscallCount::stop() {
  if (child_ < 0) return;
  // Disable first, so the counts end at the quiet edge and not when perf gets the signal.
  try {
    command("disable\n");
  } catch (...) {
    interrupt_and_wait(child_, "perf");
    throw;
  }
  ::close(control_);
  ::close(ack_);
  control_ = ack_ = -1;
  interrupt_and_wait(child_, "perf");
}

}  // namespace weft::bench
