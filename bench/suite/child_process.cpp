#include "child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#ifndef WEFT_BENCH_SERVER_DIR
#define WEFT_BENCH_SERVER_DIR ""
#endif

namespace weft::bench {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

UniqueFd memory_file(const char* name) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create");
  return fd;
}

// The whole content of a memfd, read from offset 0 (the child's writes move its own offset,
// which this does not touch).
std::string read_memory_file(const UniqueFd& fd) {
  std::string text;
  char chunk[4096];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd.get(), chunk, sizeof chunk, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

// A socket address for 127.0.0.1:port.
sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

}  // namespace

std::string ExitStatus::describe() const {
  std::string text;
  if (signal != 0) {
    text = "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    text = "exit status " + std::to_string(code);
  }
  if (killed_after_timeout) text += " (SIGKILL: SIGTERM did not stop it in time)";
  return text;
}

ChildProcess::ChildProcess(std::filesystem::path program, std::vector<std::string> args,
                           std::vector<unsigned> cpus) {
  if (::access(program.c_str(), X_OK) != 0)
    throw std::runtime_error("cannot run " + program.string() + ": " + std::strerror(errno));
  command_ = program.filename().string();
  for (const std::string& arg : args) command_ += " " + arg;

  // Everything the child needs is prepared before fork(): between fork and exec it may only
  // make async-signal-safe calls (weft-bench has other threads, whose locks the copy of the
  // process inherits in whatever state they were).
  std::vector<std::string> argv_text;
  argv_text.push_back(program.string());
  for (std::string& arg : args) argv_text.push_back(std::move(arg));
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  cpu_set_t cpu_set;
  CPU_ZERO(&cpu_set);
  for (const unsigned cpu : cpus) CPU_SET(cpu, &cpu_set);

  stdout_ = memory_file("weft-bench-child-stdout");
  stderr_ = memory_file("weft-bench-child-stderr");
  const UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null) throw_errno("open /dev/null");
  // exec reports its failure (an errno) through this pipe; a successful exec closes the
  // write end (O_CLOEXEC), so the parent's read sees end of file.
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
  UniqueFd exec_read(exec_pipe[0]);
  UniqueFd exec_write(exec_pipe[1]);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork " + command_);
  if (pid_ == 0) {
    // The child: async-signal-safe calls only, then exec.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
    // dup2 clears O_CLOEXEC on the copies, so these three survive exec.
    if (::dup2(dev_null.get(), 0) < 0 || ::dup2(stdout_.get(), 1) < 0 ||
        ::dup2(stderr_.get(), 2) < 0)
      ::_exit(127);
    // The server starts with the signal state of a fresh process: weft-bench's threads may
    // block signals, and the mask and ignored dispositions would survive exec.
    sigset_t none;
    sigemptyset(&none);
    (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
    (void)::signal(SIGPIPE, SIG_DFL);
    int error = 0;
    if (!cpus.empty() && ::sched_setaffinity(0, sizeof cpu_set, &cpu_set) != 0) {
      error = errno;
    } else {
      ::execv(argv[0], argv.data());
      error = errno;
    }
    (void)!::write(exec_write.get(), &error, sizeof error);
    ::_exit(127);
  }
  exec_write.reset();
  int exec_error = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_read.get(), &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    kill_and_reap();
    throw std::runtime_error("cannot start " + command_ + ": " + std::strerror(exec_error));
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      command_(std::move(other.command_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)),
      status_(other.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    command_ = std::move(other.command_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
    status_ = other.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ <= 0) return;
  (void)::kill(pid_, SIGKILL);
  int wait_status = 0;
  pid_t reaped = 0;
  do {
    reaped = ::waitpid(pid_, &wait_status, 0);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == pid_) record_exit(wait_status);
  pid_ = -1;
}

void ChildProcess::record_exit(int wait_status) noexcept {
  if (WIFSIGNALED(wait_status)) {
    status_.signal = WTERMSIG(wait_status);
  } else if (WIFEXITED(wait_status)) {
    status_.code = WEXITSTATUS(wait_status);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int wait_status = 0;
  const pid_t reaped = ::waitpid(pid_, &wait_status, WNOHANG);
  if (reaped == 0) return true;
  if (reaped == pid_) record_exit(wait_status);
  pid_ = -1;
  return false;
}

CpuTimes ChildProcess::cpu_times() const {
  if (pid_ <= 0) throw std::runtime_error(command_ + " has exited: no CPU times to read");
  return read_process_cpu_times(pid_);
}

ExitStatus ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  (void)::kill(pid_, SIGTERM);
  // Polled: a server stops within milliseconds, and waitpid cannot wait with a timeout.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill_and_reap();
  status_.killed_after_timeout = true;
  return status_;
}

std::string ChildProcess::stdout_text() const { return read_memory_file(stdout_); }

std::string ChildProcess::stderr_text() const { return read_memory_file(stderr_); }

std::filesystem::path server_binary(std::string_view name) {
  const char* from_environment = std::getenv("WEFT_BENCH_SERVER_DIR");
  const std::filesystem::path directory = from_environment != nullptr && *from_environment != '\0'
                                              ? from_environment
                                              : WEFT_BENCH_SERVER_DIR;
  if (directory.empty())
    throw std::runtime_error(
        "no server directory: set WEFT_BENCH_SERVER_DIR to the build directory of bench/io");
  std::filesystem::path path = directory / name;
  if (!std::filesystem::exists(path))
    throw std::runtime_error("server binary " + path.string() +
                             " does not exist (build the target " + std::string(name) +
                             ", or point WEFT_BENCH_SERVER_DIR at the directory that has it)");
  return path;
}

std::uint16_t free_loopback_port() {
  const UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) throw_errno("socket");
  sockaddr_in address = loopback(0);
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw_errno("bind 127.0.0.1:0");
  socklen_t length = sizeof address;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw_errno("getsockname");
  return ntohs(address.sin_port);
}

void wait_until_accepting(ChildProcess& server, std::uint16_t port, std::string_view ready_text,
                          std::chrono::milliseconds timeout) {
  const std::string where = "127.0.0.1:" + std::to_string(port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!server.running())
      throw std::runtime_error(server.command() + " " + server.exit_status().describe() +
                               " before accepting connections on " + where +
                               "; its stderr: " + server.stderr_text());
    if (ready_text.empty() || server.stdout_text().find(ready_text) != std::string::npos) {
      const UniqueFd probe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!probe) throw_errno("socket");
      const sockaddr_in address = loopback(port);
      if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
        return;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error(server.command() + " did not accept connections on " + where +
                               " within " + std::to_string(timeout.count()) +
                               " ms; its stderr: " + server.stderr_text());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) throw_errno("sched_getaffinity");
  std::vector<unsigned> cpus;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

}  // namespace weft::bench
