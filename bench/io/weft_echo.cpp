// weft-echo: the weft server of the TCP echo benchmark (scripts/bench-io), measured against
// raw-epoll-echo, the same protocol written by hand in C.
//
//   weft-echo PORT [--loops N] [--placement least-loaded|listener] [--lazy-buffer] [--stats]
//
// One SO_REUSEPORT listener per loop, each registered with its loop (home_loop), so every
// loop accepts. Each accepted connection is registered with the least loaded loop (the
// listeners' default placement), whose reactor then wakes its echo task there; --placement
// listener keeps it on the loop whose listener the kernel's hash chose. Each acceptor is a task
// that spawns one detached task per connection; the echo task reads into its own 4 KiB buffer
// (allocated once per connection) and writes back what it read. Per message that is one recv and
// one send (a short recv forgets the readiness: weft/io/detail/socket.hpp) and no allocation: the
// frames of read_some/write_all come from the loop's frame pool.
//
// --lazy-buffer: the echo task waits for readability holding no buffer, takes one from a
// per-thread cache for as long as there is data, and gives it back once a read came up short
// (the receive buffer is empty). An idle connection then costs only weft's own state, which
// is what the idle-memory measurement of scripts/bench-io reports.
//
// --stats: prints the runtime's per-loop counters to stderr at exit.
//
// SIGINT/SIGTERM stop it cleanly: both are blocked in main() before the runtime starts (its
// loop threads inherit the mask), a task waits for the signalfd through an AsyncFd, cancels
// the acceptors and returns; the runtime then cancels the echo tasks that are left.

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/weft.hpp>

namespace {

// The size of the baseline's buffer (raw_epoll_echo.c); any 64-byte message fits many times.
constexpr std::size_t kBufferSize = 4096;

struct Options {
  int port = 0;
  unsigned loops = 1;
  bool lazy_buffer = false;
  bool stats = false;
  weft::io::ConnectionPlacement placement = weft::io::ConnectionPlacement::least_loaded;
};

// --lazy-buffer's buffers: a per-thread cache, so the steady state allocates nothing. A
// buffer taken on one loop may be returned on another (tasks move at suspensions); each
// cache is capped, so no thread hoards them. 256: a reactor batch (runtime/src/reactor.hpp).
class BufferCache {
 public:
  using Buffer = std::unique_ptr<std::byte[]>;

  static Buffer take() {
    std::vector<Buffer>& spare = cache();
    if (spare.empty()) return std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
    Buffer b = std::move(spare.back());
    spare.pop_back();
    return b;
  }
  static void give(Buffer b) {
    std::vector<Buffer>& spare = cache();
    if (spare.size() < kMaxSpare) spare.push_back(std::move(b));
  }

 private:
  static constexpr std::size_t kMaxSpare = 256;
  static std::vector<Buffer>& cache() {
    thread_local std::vector<Buffer> spare;
    return spare;
  }
};

// A buffer from the cache for the duration of one burst of reads.
class LeasedBuffer {
 public:
  LeasedBuffer() : buffer_(BufferCache::take()) {}
  LeasedBuffer(const LeasedBuffer&) = delete;
  LeasedBuffer& operator=(const LeasedBuffer&) = delete;
  ~LeasedBuffer() { BufferCache::give(std::move(buffer_)); }
  [[nodiscard]] std::span<std::byte> span() const noexcept { return {buffer_.get(), kBufferSize}; }

 private:
  BufferCache::Buffer buffer_;
};

weft::Task<void> echo(weft::io::TcpStream stream) {
  const auto storage = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
  const std::span<std::byte> buffer(storage.get(), kBufferSize);
  try {
    for (;;) {
      const std::size_t n = co_await stream.read_some(buffer);
      if (n == 0) co_return;
      co_await stream.write_all(buffer.first(n));
    }
  } catch (const std::system_error&) {
    // Reset by the peer (a load generator that exits): the connection is over either way.
  }
}

weft::Task<void> echo_lazy(weft::io::TcpStream stream) {
  try {
    for (;;) {
      co_await stream.wait_readable();  // no buffer held while idle
      const LeasedBuffer lease;
      std::size_t n = 0;
      do {  // a full read may have left more: read on, as the eager echo would
        n = co_await stream.read_some(lease.span());
        if (n == 0) co_return;
        co_await stream.write_all(lease.span().first(n));
      } while (n == kBufferSize);
    }
  } catch (const std::system_error&) {
  }
}

weft::Task<void> accept_loop(weft::io::TcpListener listener, bool lazy_buffer) {
  for (;;) {
    weft::io::TcpStream stream = co_await listener.accept();
    if (lazy_buffer) {
      weft::spawn(echo_lazy(std::move(stream))).detach();
    } else {
      weft::spawn(echo(std::move(stream))).detach();
    }
  }
}

weft::Task<void> serve(Options options, int signal_fd) {
  weft::AsyncFd signals(signal_fd);
  const auto address = weft::io::SocketAddress::parse("127.0.0.1:" + std::to_string(options.port));
  std::vector<weft::JoinHandle<void>> acceptors;
  for (unsigned i = 0; i < weft::loop_count(); ++i) {
    auto listener = weft::io::TcpListener::bind(
        address, {.reuse_port = true, .home_loop = i, .placement = options.placement});
    acceptors.push_back(weft::spawn(accept_loop(std::move(listener), options.lazy_buffer)));
  }
  std::printf("weft-echo listening on 127.0.0.1:%d with %u loops\n", options.port,
              weft::loop_count());
  std::fflush(stdout);

  for (;;) {
    const weft::Readiness seen = co_await signals.readable();
    signalfd_siginfo info{};
    if (::read(signals.fd(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) break;
    if (errno != EAGAIN && errno != EINTR)
      throw std::system_error(errno, std::system_category(), "weft-echo: read signalfd");
    signals.clear_readable(seen);
  }
  for (auto& acceptor : acceptors) acceptor.cancel();
  for (auto& acceptor : acceptors) {
    try {
      co_await acceptor;
    } catch (const weft::CancelledError&) {
    }
  }
}

void print_stats(const weft::RuntimeMetrics& m) {
  for (std::size_t i = 0; i < m.loops.size(); ++i) {
    const weft::LoopMetrics& l = m.loops[i];
    std::fprintf(
        stderr,
        "weft-echo: loop %zu: tasks_run=%llu io_events=%llu parks=%llu wakeups=%llu "
        "steals=%llu steal_attempts=%llu\n",
        i, static_cast<unsigned long long>(l.tasks_run),
        static_cast<unsigned long long>(l.io_events), static_cast<unsigned long long>(l.parks),
        static_cast<unsigned long long>(l.wakeups), static_cast<unsigned long long>(l.steals),
        static_cast<unsigned long long>(l.steal_attempts));
  }
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: weft-echo PORT [--loops N] [--placement least-loaded|listener] [--lazy-buffer] "
      "[--stats]\n",
      stderr);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  if (argc < 2) usage();
  Options o;
  o.port = std::atoi(argv[1]);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--loops" && i + 1 < argc) {
      o.loops = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (arg == "--placement" && i + 1 < argc) {
      const std::string value = argv[++i];
      if (value == "least-loaded") {
        o.placement = weft::io::ConnectionPlacement::least_loaded;
      } else if (value == "listener") {
        o.placement = weft::io::ConnectionPlacement::listener_loop;
      } else {
        usage();
      }
    } else if (arg == "--lazy-buffer") {
      o.lazy_buffer = true;
    } else if (arg == "--stats") {
      o.stats = true;
    } else {
      usage();
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.loops == 0) usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);

  // The idle-connection measurement opens as many connections as the hard limit allows.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }

  // Blocked before the runtime starts its loop threads, which inherit the mask: the signals
  // then only ever arrive through the signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    std::perror("weft-echo: pthread_sigmask");
    return 1;
  }
  const int signal_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("weft-echo: signalfd");
    return 1;
  }

  try {
    weft::Runtime runtime({.loops = options.loops});
    runtime.block_on(serve(options, signal_fd));
    if (options.stats) print_stats(runtime.metrics());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
