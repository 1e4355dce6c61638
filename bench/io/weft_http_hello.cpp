// weft-http-hello: the weft server of the HTTP hello benchmark (scripts/bench-io), measured
// against raw-epoll-http-hello, a hand-written C server that only looks for "\r\n\r\n"; and
// the mixed server of weft-bench's io/http_sha256 scenario.
//
//   weft-http-hello PORT [--loops N] [--pool N] [--stats] [--debug]
//                   [--tls-cert FILE --tls-key FILE]
//
// weft::http::Server as an embedder would use it: the strict parser, the router, one
// listener per loop, default limits and timeouts, and two routes:
//   GET /         answers "hello, world\n" as text/plain — the same bytes as the baseline's
//                 response;
//   POST /sha256  answers the SHA-256 of the request body as 64 lowercase hex digits and a
//                 newline (text/plain, what `sha256sum` prints before the file name). The
//                 hash runs on a weft::to_thread worker (OpenSSL's EVP SHA-256), so a loop
//                 keeps serving other connections while a body is hashed: I/O and CPU-bound
//                 work in one server.
// With --tls-cert (a PEM chain, leaf first) and --tls-key, PORT serves HTTPS (ALPN http/1.1)
// with the same routes: the server of weft-bench's io/https_hello scenario.
// --pool N sets the to_thread workers (RuntimeOptions::to_thread_threads; by default one per
// core). SIGINT/SIGTERM shut the server down gracefully (5 s grace) and print its counters;
// --stats adds the runtime's per-loop counters (tasks run, I/O events, parks, wake-ups,
// steals). --debug mounts GET /debug/tasks (weft/http/task_dump_route.hpp: the task dump as
// text, or JSON with ?format=json) on the same server, and makes SIGUSR1 print a task dump to
// stderr (RuntimeOptions::dump_signal); a benchmark binary bound to 127.0.0.1 may serve it
// beside its routes, a real server would mount it on a private one.

#include <openssl/evp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <weft/http/server.hpp>
#include <weft/http/task_dump_route.hpp>
#include <weft/tls/context.hpp>
#include <weft/weft.hpp>

namespace {

using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;

Task<void> stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "signalfd");
  weft::AsyncFd signals(fd);
  signalfd_siginfo info{};
  (void)co_await signals.read_some(std::as_writable_bytes(std::span(&info, 1)));
}

// On a to_thread worker: the body's SHA-256 as hex digits and a newline.
std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest(sha256) failed");
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length + 1);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHexDigits[digest[i] >> 4];
    hex += kHexDigits[digest[i] & 0xf];
  }
  hex += '\n';
  return hex;
}

struct TlsFiles {
  std::string cert;
  std::string key;
};

Task<int> serve(int port, TlsFiles tls, bool debug) {
  weft::http::ServerOptions options;
  if (!tls.cert.empty())
    options.tls = weft::tls::Context::server(
        {.cert_chain_file = tls.cert, .key_file = tls.key, .alpn = {"http/1.1"}});
  weft::http::Server server(std::move(options));
  server.route("GET", "/", [](ServerRequest&) -> Task<ServerResponse> {
    co_return ServerResponse::text(200, "hello, world\n");
  });
  server.route("POST", "/sha256", [](ServerRequest& request) -> Task<ServerResponse> {
    // The body is a view into the connection's buffer, valid until this handler completes;
    // to_thread resumes the handler only after the job ended (also when cancelled), so the
    // job reads it in place, without a copy.
    std::string digest = co_await weft::to_thread(sha256_hex, request.body());
    co_return ServerResponse::text(200, std::move(digest));
  });
  if (debug) weft::http::mount_task_dump(server);
  const auto address = weft::io::SocketAddress::parse("127.0.0.1:" + std::to_string(port));
  if (tls.cert.empty()) {
    (void)server.listen(address);
  } else {
    (void)server.listen_tls(address);
  }
  std::printf("weft-http-hello listening on 127.0.0.1:%d with %u loops%s\n", port,
              weft::loop_count(), tls.cert.empty() ? "" : " (HTTPS)");
  std::fflush(stdout);
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  co_await stop_signal();
  co_await server.shutdown(std::chrono::seconds(5));
  co_await serving;
  const weft::http::ServerStats s = server.stats();
  std::fprintf(stderr, "weft-http-hello: %llu requests on %llu connections, %llu refused",
               static_cast<unsigned long long>(s.requests),
               static_cast<unsigned long long>(s.connections_accepted),
               static_cast<unsigned long long>(s.refused));
  if (!tls.cert.empty())
    std::fprintf(stderr, ", %llu TLS handshakes failed",
                 static_cast<unsigned long long>(s.tls_handshake_failures));
  std::fputc('\n', stderr);
  co_return 0;
}

void print_stats(const weft::RuntimeMetrics& m) {
  for (std::size_t i = 0; i < m.loops.size(); ++i) {
    const weft::LoopMetrics& l = m.loops[i];
    std::fprintf(
        stderr,
        "weft-http-hello: loop %zu: tasks_run=%llu io_events=%llu parks=%llu wakeups=%llu "
        "steals=%llu steal_attempts=%llu\n",
        i, static_cast<unsigned long long>(l.tasks_run),
        static_cast<unsigned long long>(l.io_events), static_cast<unsigned long long>(l.parks),
        static_cast<unsigned long long>(l.wakeups), static_cast<unsigned long long>(l.steals),
        static_cast<unsigned long long>(l.steal_attempts));
  }
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: weft-http-hello PORT [--loops N] [--pool N] [--stats] [--debug] "
      "[--tls-cert FILE --tls-key FILE]\n",
      stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const int port = std::atoi(argv[1]);
  weft::RuntimeOptions options;
  options.loops = 1;
  bool stats = false;
  bool debug = false;
  TlsFiles tls;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--loops") == 0 && i + 1 < argc) {
      options.loops = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
      const int pool = std::atoi(argv[++i]);
      if (pool <= 0) usage();
      options.to_thread_threads = static_cast<unsigned>(pool);
    } else if (std::strcmp(argv[i], "--stats") == 0) {
      stats = true;
    } else if (std::strcmp(argv[i], "--debug") == 0) {
      debug = true;
    } else if (std::strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc) {
      tls.cert = argv[++i];
    } else if (std::strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc) {
      tls.key = argv[++i];
    } else {
      usage();
    }
  }
  if (port <= 0 || port > 65535 || options.loops == 0) usage();
  if (debug) options.dump_signal = SIGUSR1;
  if (tls.cert.empty() != tls.key.empty()) {
    std::fputs("weft-http-hello: --tls-cert and --tls-key go together\n", stderr);
    usage();
  }
  // Idle-connection measurements open tens of thousands of sockets.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
  // Blocked before the loops start, so they inherit the mask and the signalfd gets them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // OpenSSL initialises itself on first use. Done here, on the main thread, and not by the
  // first job on a pool worker: its exit-time cleanup then frees everything it set up (else
  // LeakSanitizer reports 904 bytes of OpenSSL's initialisation on that worker at exit).
  (void)sha256_hex("");
  weft::Runtime runtime(options);
  int status = 1;
  try {
    status = runtime.block_on(serve(port, std::move(tls), debug));
  } catch (const std::exception& e) {
    // A certificate or key that does not load, a port in use: say which, exit 1.
    std::fprintf(stderr, "weft-http-hello: %s\n", e.what());
    return 1;
  }
  if (stats) print_stats(runtime.metrics());
  return status;
}
