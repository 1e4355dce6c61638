// weft-load: weft-bench's load generator (load_generator.hpp) as a tool of its own, for the
// scripts that drive a server they started themselves (scripts/bench-io,
// scripts/bench-echo-peers), and bench-io's measurement of memory per idle connection.
//
//   weft-load 127.0.0.1:PORT [--connections 50] [--size 64] [--http] [--seconds 5]
//             [--warmup 1] [--threads 1] [--server-pid PID] [--strace FILE] [--perf FILE]
//   weft-load 127.0.0.1:PORT --idle N [--size 64] [--http] [--server-pid PID]
//
// Load: every connection ping-pongs one `size`-byte message at a time (echo framing: the
// reply must be the same bytes); one message is one round trip. With --http, the message is
// `GET / HTTP/1.1` instead and the reply a whole 200 response (load_generator.hpp's http
// framing); --size is then unused. A warm-up window, then the
// measured one, both bounded by quiet edges (nothing in flight), so the server's utime and
// stime read there with --server-pid (/proc/PID/stat) belong exactly to the round trips
// counted. --strace FILE and --perf FILE count the server's syscalls over the measured window
// (server_tracing.hpp), started and stopped at its quiet edges.
//
// Output is one `key=value` per line for scripts: round_trips, seconds, msgs_per_s,
// client_user_s, client_sys_s, with --server-pid server_user_s and server_sys_s, then
// latency_samples (equal to round_trips), latency_mean_us, latency_p50_us, latency_p90_us,
// latency_p99_us, latency_p999_us and latency_max_us (microseconds). Errors go to stderr with
// exit status 1; a bad command line exits 2.
//
// Idle: opens N connections and has each exchange one message (an echo, or with --http one
// GET and its whole response, leaving an idle keep-alive connection whose parser has run), so
// the server has touched its per-connection state. Without --server-pid it then prints
// "idle: N connections open" and holds them until killed. With it, the server's VmRSS
// (/proc/PID/status) is read before the first connect and again 0.5 s after the last
// exchange (the server may still be finishing with the last ones), printed as
// rss_before_kib=... and rss_after_kib=..., and weft-load exits, closing them. The kernel's
// socket memory is not in RSS.

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "cpu_times.hpp"
#include "load_generator.hpp"
#include "server_tracing.hpp"

namespace {

using namespace weft::bench;

// A larger message is not what these benchmarks measure; the cap only catches typos.
constexpr unsigned long kMaxSize = 1 << 20;

[[noreturn]] void usage() {
  std::fputs(
      "usage: weft-load 127.0.0.1:PORT [--connections N] [--size BYTES] [--http]\n"
      "                 [--seconds S] [--warmup S] [--threads N] [--server-pid PID]\n"
      "                 [--strace FILE] [--perf FILE]\n"
      "       weft-load 127.0.0.1:PORT --idle N [--size BYTES] [--http] [--server-pid PID]\n",
      stderr);
  std::exit(2);
}

template <typename T>
T parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) usage();
  return value;
}

double parse_seconds(std::string_view text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(std::string(text), &used);
    if (used != text.size()) usage();
    return v;
  } catch (const std::exception&) {
    usage();
  }
}

double cpu_seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
}

// VmRSS of `pid`, in KiB.
unsigned long rss_kib(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  throw std::runtime_error("no VmRSS in " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const std::string_view address = argv[1];
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) usage();
  const std::string_view host = address.substr(0, colon);
  // The load generator connects over loopback only: that is what every benchmark here runs.
  if (host != "127.0.0.1" && host != "localhost") {
    std::fprintf(stderr, "weft-load: only 127.0.0.1 is supported, not '%.*s'\n",
                 static_cast<int>(host.size()), host.data());
    return 2;
  }
  const auto port = parse_number<std::uint16_t>(address.substr(colon + 1));
  unsigned connections = 50;
  unsigned long size = 64;
  double seconds = 5;
  double warmup = 1;
  unsigned threads = 1;
  unsigned long idle = 0;
  pid_t server = 0;
  std::string strace_out;
  std::string perf_out;
  bool http = false;
  for (int i = 2; i < argc; i += 2) {
    if (std::string_view(argv[i]) == "--http") {
      http = true;
      --i;  // a flag without a value
      continue;
    }
    if (i + 1 >= argc) usage();
    const std::string_view flag = argv[i];
    const std::string_view value = argv[i + 1];
    if (flag == "--connections") {
      connections = parse_number<unsigned>(value);
    } else if (flag == "--size") {
      size = parse_number<unsigned long>(value);
    } else if (flag == "--seconds") {
      seconds = parse_seconds(value);
    } else if (flag == "--warmup") {
      warmup = parse_seconds(value);
    } else if (flag == "--threads") {
      threads = parse_number<unsigned>(value);
    } else if (flag == "--server-pid") {
      server = parse_number<pid_t>(value);
    } else if (flag == "--strace") {
      strace_out = value;
    } else if (flag == "--perf") {
      perf_out = value;
    } else if (flag == "--idle") {
      idle = parse_number<unsigned long>(value);
    } else {
      usage();
    }
  }
  if (size == 0 || size > kMaxSize || connections == 0 || threads == 0 || seconds <= 0 ||
      warmup < 0 || idle > 10'000'000)
    usage();
  if ((!strace_out.empty() || !perf_out.empty()) && server <= 0) {
    std::fprintf(stderr, "weft-load: --strace and --perf need --server-pid\n");
    return 2;
  }

  const std::string name = "server at 127.0.0.1:" + std::to_string(port);
  try {
    LoadOptions options{
        .port = port,
        .server_name = name,
        .framing = http ? Framing::http : Framing::echo,
        .request = http ? std::string("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                        : std::string(size, 'x'),
        .expected_body = std::nullopt,
        .tls = false,
        .connections = idle > 0 ? static_cast<unsigned>(idle) : connections,
        .threads = idle > 0 ? 1 : threads,
        .client_cpus = {},
        .server_cpu = {},
    };
    if (server > 0 && idle == 0)
      options.server_cpu = [server] { return read_process_cpu_times(server); };
    const unsigned long rss_before = server > 0 && idle > 0 ? rss_kib(server) : 0;
    LoadGenerator load(std::move(options));
    if (idle > 0) {
      // A window of no length: every connection sends once, and the window closes only when
      // every reply is in.
      (void)load.measure(std::chrono::seconds(0));
      if (server > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::printf("rss_before_kib=%lu\nrss_after_kib=%lu\n", rss_before, rss_kib(server));
        return 0;
      }
      std::printf("idle: %lu connections open\n", idle);
      std::fflush(stdout);
      for (;;) ::pause();
    }
    (void)load.measure(std::chrono::duration<double>(warmup));  // the warm-up
    // At a quiet edge: the tracers start before the window opens and stop after it closes.
    std::unique_ptr<StraceCount> strace;
    std::unique_ptr<PerfSyscallCount> perf;
    if (!strace_out.empty()) strace = std::make_unique<StraceCount>(server, strace_out);
    if (!perf_out.empty()) perf = std::make_unique<PerfSyscallCount>(server, perf_out);
    rusage self_before{};
    rusage self_after{};
    ::getrusage(RUSAGE_SELF, &self_before);
    const WindowResult w = load.measure(std::chrono::duration<double>(seconds));
    ::getrusage(RUSAGE_SELF, &self_after);
    if (strace) strace->stop();
    if (perf) perf->stop();

    std::printf("round_trips=%llu\n", static_cast<unsigned long long>(w.requests));
    std::printf("seconds=%.4f\n", w.seconds);
    std::printf("msgs_per_s=%.0f\n", w.rate());
    std::printf("client_user_s=%.3f\nclient_sys_s=%.3f\n",
                cpu_seconds(self_after.ru_utime) - cpu_seconds(self_before.ru_utime),
                cpu_seconds(self_after.ru_stime) - cpu_seconds(self_before.ru_stime));
    if (server > 0) {
      std::printf("server_user_s=%.3f\n", w.server_cpu.user_s);
      std::printf("server_sys_s=%.3f\n", w.server_cpu.system_s);
    }
    if (w.latency_samples != w.requests) {
      std::fprintf(stderr, "weft-load: %llu latencies recorded for %llu round trips\n",
                   static_cast<unsigned long long>(w.latency_samples),
                   static_cast<unsigned long long>(w.requests));
      return 1;
    }
    std::printf("latency_samples=%llu\n", static_cast<unsigned long long>(w.latency_samples));
    std::printf("latency_mean_us=%.1f\n", w.mean_us);
    std::printf("latency_p50_us=%.1f\n", w.p50_us);
    std::printf("latency_p90_us=%.1f\n", w.p90_us);
    std::printf("latency_p99_us=%.1f\n", w.p99_us);
    std::printf("latency_p999_us=%.1f\n", w.p999_us);
    std::printf("latency_max_us=%.1f\n", w.max_us);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-load: %s\n", e.what());
    return 1;
  }
  return 0;
}
