#pragma once

// Child processes for the tests that run other programs (the integration tier and a few
// stress tests): finding a program on PATH, and one way to start it (spawn()), owned either by
// a Subprocess (run to completion, output collected through pipes, killed at a timeout) or by a
// ChildProcess (a server left running, output to a log file, stopped with its process group).
//
// Used from the test's own thread, before and after weft::run: starting a program is set-up,
// done with blocking calls, not something the runtime under test should carry.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace weft::test {

// The full path of `name` as execvp would find it (on PATH, or `name` itself if it holds a
// '/'), or std::nullopt.
inline std::optional<std::string> find_executable(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    const std::string path(name);
    return ::access(path.c_str(), X_OK) == 0 ? std::optional<std::string>(path) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = std::string(dir) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// Starts `argv` (argv[0] a path) with stdin from /dev/null, stdout to `out_fd` and stderr to
// `err_fd`, and an empty signal mask: the test thread may block signals (weft's signal
// handling does), and a child that inherited that mask could not be stopped with SIGTERM.
// With `own_group`, the child leads a new process group, so that a server and the workers it
// forks are stopped together. The parent's fds are close-on-exec (weft's and these helpers' all
// are), so the child inherits only 0, 1 and 2. Returns the pid, or -1 with `error` set.
inline pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, bool own_group,
                   std::string& error) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  short flags = POSIX_SPAWN_SETSIGMASK;
  if (own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

struct ProcessResult {
  bool started = false;
  std::string start_error;
  bool timed_out = false;  // killed (SIGKILL) at the timeout
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string out;
  std::string err;

  [[nodiscard]] bool ok() const noexcept { return started && !timed_out && exit_code == 0; }
  [[nodiscard]] std::string describe() const {
    std::string s = !started      ? "not started: " + start_error
                    : timed_out   ? std::string("timed out")
                    : signal != 0 ? "killed by signal " + std::to_string(signal)
                                  : "exit " + std::to_string(exit_code);
    return s + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
  }
};

// A program run to completion (curl, python3, wrk, openssl): its stdout and stderr collected
// through pipes, killed (SIGKILL) at a timeout.
class Subprocess {
 public:
  // `argv[0]` must be a path (see find_executable()). stdin is /dev/null.
  explicit Subprocess(const std::vector<std::string>& argv) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      result_.start_error = std::strerror(errno);
      return;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      result_.start_error = std::strerror(errno);
      ::close(out[0]);
      ::close(out[1]);
      return;
    }
    const pid_t pid = spawn(argv, out[1], err[1], /*own_group=*/false, result_.start_error);
    ::close(out[1]);
    ::close(err[1]);
    if (pid < 0) {
      ::close(out[0]);
      ::close(err[0]);
      return;
    }
    pid_ = pid;
    out_fd_ = out[0];
    err_fd_ = err[0];
    result_.started = true;
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait(std::chrono::milliseconds(5000));
    }
    close_pipes();
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Collects output until the child exits or `timeout` passes (then SIGKILL). Returns the
  // result once the child has been reaped.
  const ProcessResult& wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      drain(std::chrono::milliseconds(20));
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        drain(std::chrono::milliseconds(0));
        if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
        pid_ = -1;
        // Whatever the child left in the pipes (it may have handed them on to its own
        // children: do not wait for those).
        drain(std::chrono::milliseconds(50));
        close_pipes();
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        result_.timed_out = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        drain(std::chrono::milliseconds(0));
        close_pipes();
        break;
      }
    }
    return result_;
  }

  // Output so far (and keeps the pipes from filling up).
  const ProcessResult& poll_output() {
    drain(std::chrono::milliseconds(0));
    return result_;
  }

  [[nodiscard]] const ProcessResult& result() const noexcept { return result_; }

 private:
  void drain(std::chrono::milliseconds wait) {
    pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return;
    if (::poll(p, 2, static_cast<int>(wait.count())) <= 0) return;
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      any |= read_from(out_fd_, result_.out);
      any |= read_from(err_fd_, result_.err);
      if (!any) break;
    }
  }
  static bool read_from(int& fd, std::string& into) {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char buf[8192];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      ::close(fd);
      fd = -1;
    }
    return false;
  }
  void close_pipes() {
    if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
    if (err_fd_ >= 0) ::close(std::exchange(err_fd_, -1));
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  ProcessResult result_;
};

inline ProcessResult run_process(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  Subprocess p(std::move(argv));
  if (!p.result().started) return p.result();
  return p.wait(timeout);
}

// A server left running in the background, in its own process group, with stdout and stderr
// appended to a log file. The destructor sends SIGTERM to the group, waits up to 5 s, then
// SIGKILLs it and reaps it.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0)
      throw std::runtime_error("open " + log_path + ": " + std::string(std::strerror(errno)));
    std::string error;
    pid_ = spawn(argv, log, log, /*own_group=*/true, error);
    ::close(log);
    if (pid_ < 0) throw std::runtime_error(error);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  // The child exited already (it failed to start, for instance).
  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(-pid_, SIGKILL);  // workers left behind by a master that died first
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace weft::test
