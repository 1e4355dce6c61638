// The I/O scenarios: weft's servers of bench/io, run as child processes and driven by the
// suite's own load generator (load_generator.hpp) over loopback TCP.
//
//   io/tcp_echo     weft-echo against raw-epoll-echo (the raw epoll C server), 64-byte echo;
//   io/http_hello   weft-http-hello against raw-epoll-http-hello, keep-alive GET /;
//   io/http_sha256  weft-http-hello's POST /sha256: 16 KiB bodies hashed on weft::to_thread,
//                   against the limit of the pool's cores doing nothing but hashing;
//   io/https_hello  weft-http-hello --tls-cert/--tls-key against nginx with one worker process,
//                   keep-alive GET / over TLS with the same certificate (skipped without nginx).
//
// Per configuration (L loops): the servers start once (each on a free port), each gets its
// own load generator with connections held for the whole configuration, one unmeasured
// warm-up window each, then per repetition one window against the baseline and one against
// weft, back to back, so both see the same moment's noise on a shared machine. Every window
// is bounded by quiet edges (load_generator.hpp), so the server CPU per request is exact up to
// the clock tick: 10 ms at each edge, ~1% of the ~1 s of server CPU in a 1 s window on the
// 2-core VM, but ~10% of the user share alone (~0.1 s; the kernel's TCP path is the rest).
//
// Placement, as scripts/bench-io: with 2 CPUs or more, the client threads run on the last
// CPUs and a 1-loop / 1-thread server on the first, so the client and a single-threaded
// server never share a core; multi-loop servers are not pinned (their loops share the cores
// with the client, which is part of what the N-loop figure measures on a small machine).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "https_fixture.hpp"
#include "load_generator.hpp"
#include "scenario.hpp"
#include "sha256.hpp"

namespace weft::bench {

namespace {

using Seconds = std::chrono::duration<double>;

// Window lengths and load, chosen so that the default io part (3 scenarios x loops {1, 2} x 5
// repetitions) stays under a minute on 2 cores: per configuration of a scenario with a
// baseline, 2 x 0.5 s of warm-up + 5 x 2 x 1 s of windows, plus server start and stop.
struct IoTiming {
  Seconds warm_up;
  Seconds window;
  // 50: scripts/bench-io's load (and wrk -c50), enough to keep 2 loops busy.
  unsigned connections;
  // How long the SHA-256 limit is measured (once per configuration).
  std::chrono::milliseconds hash_rate_duration;
};

IoTiming timing_for(const RunConfig& config) {
  if (config.quick) return {Seconds(0.1), Seconds(0.15), 8, std::chrono::milliseconds(20)};
  return {Seconds(0.5), Seconds(1.0), 50, std::chrono::milliseconds(200)};
}

struct Placement {
  // max(1, cores / 4): one thread on the 2-core VM, as scripts/bench-io's one load process,
  // and more on larger machines so that the client keeps up with a larger server.
  unsigned client_threads = 1;
  std::vector<unsigned> client_cpus;  // empty: not pinned
  std::vector<unsigned> single_threaded_server_cpus;
};

Placement placement_for(const RunConfig& config) {
  Placement placement;
  placement.client_threads = std::max(1u, config.cores / 4);
  const std::vector<unsigned> cpus = allowed_cpus();
  if (cpus.size() >= 2) {
    const std::size_t client_cpu_count =
        std::min<std::size_t>(placement.client_threads, cpus.size() - 1);
    placement.client_cpus.assign(cpus.end() - static_cast<std::ptrdiff_t>(client_cpu_count),
                                 cpus.end());
    placement.single_threaded_server_cpus = {cpus.front()};
  }
  return placement;
}

// What the load sends and expects back.
struct Exchange {
  Framing framing = Framing::echo;
  std::string request;
  std::optional<std::string> expected_body;
  bool tls = false;
};

// How to run one server.
struct ServerSpec {
  std::filesystem::path program;
  // Its arguments, given the port it must listen on.
  std::function<std::vector<std::string>(std::uint16_t port)> args;
  // What it prints on stdout once it listens ("": none; then connects tell).
  std::string ready_text;
  bool single_threaded = false;  // pinned next to the client when there are 2+ CPUs
};

// bench/io's NAME PORT ARGS..., which prints "listening on" when it does.
ServerSpec bench_io_server(const std::string& name, std::vector<std::string> args,
                           bool single_threaded) {
  return {.program = server_binary(name),
          .args =
              [args = std::move(args)](std::uint16_t port) {
                std::vector<std::string> all{std::to_string(port)};
                all.insert(all.end(), args.begin(), args.end());
                return all;
              },
          .ready_text = "listening on",
          .single_threaded = single_threaded};
}

// A server child process with its load generator, for one configuration.
class ServerUnderLoad {
 public:
  ServerUnderLoad(const ServerSpec& spec, const Placement& placement, const Exchange& exchange,
                  unsigned connections)
      : port_(free_loopback_port()), process_(start(spec, port_, placement)) {
    wait_until_accepting(process_, port_, spec.ready_text);
    load_.emplace(LoadOptions{
        .port = port_,
        .server_name = process_.command(),
        .framing = exchange.framing,
        .request = exchange.request,
        .expected_body = exchange.expected_body,
        .tls = exchange.tls,
        .connections = connections,
        .threads = placement.client_threads,
        .client_cpus = placement.client_cpus,
        // The process outlives the generator (finish() and member order: load_ is
        // destroyed first), so the reference stays valid.
        .server_cpu = [this] { return process_.cpu_times(); },
    });
  }
  ServerUnderLoad(const ServerUnderLoad&) = delete;
  ServerUnderLoad& operator=(const ServerUnderLoad&) = delete;
  ~ServerUnderLoad() = default;  // load_ first (closes the connections), then the process

  WindowResult measure(Seconds length) {
    try {
      return load_->measure(length);
    } catch (const std::exception& e) {
      // A server that crashed shows first as lost connections: say so, with its stderr.
      // 200 ms: the kernel resets its sockets while it exits, a moment before it can be reaped.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (process_.running() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (process_.running()) throw;
      throw std::runtime_error(std::string(e.what()) + "; " + process_.command() + " " +
                               process_.exit_status().describe() +
                               ", its stderr: " + process_.stderr_text());
    }
  }
  [[nodiscard]] std::uint64_t requests_completed() const { return load_->requests_completed(); }

  // Closes the connections, stops the server (SIGTERM) and returns what it wrote to stderr.
  // Throws if it did not exit cleanly.
  std::string finish() {
    load_.reset();
    // Longer than weft-http-hello's own 5 s shutdown grace, which it never needs here: the
    // load's connections are closed by now.
    const ExitStatus status = process_.stop(std::chrono::seconds(10));
    std::string errors = process_.stderr_text();
    if (!status.clean())
      throw std::runtime_error(process_.command() + " " + status.describe() +
                               " when stopped; its stderr: " + errors);
    return errors;
  }

 private:
  static ChildProcess start(const ServerSpec& spec, std::uint16_t port,
                            const Placement& placement) {
    return ChildProcess(
        spec.program, spec.args(port),
        spec.single_threaded ? placement.single_threaded_server_cpus : std::vector<unsigned>{});
  }

  std::uint16_t port_;
  ChildProcess process_;
  std::optional<LoadGenerator> load_;
};

// The runtime's counters that weft's servers print with --stats at exit, per loop.
struct LoopCounters {
  double steals = 0;
  double parks = 0;
  double wakeups = 0;
};

// Reads "NAME: loop I: tasks_run=... parks=P wakeups=W steals=S steal_attempts=..." lines.
std::vector<LoopCounters> parse_runtime_counters(const std::string& stderr_text,
                                                 const std::string& server) {
  std::vector<LoopCounters> loops;
  std::istringstream lines(stderr_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(": loop ") == std::string::npos) continue;
    LoopCounters& counters = loops.emplace_back();
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      const std::size_t equals = word.find('=');
      if (equals == std::string::npos) continue;
      const std::string key = word.substr(0, equals);
      const double value = std::stod(word.substr(equals + 1));
      if (key == "steals") counters.steals = value;
      if (key == "parks") counters.parks = value;
      if (key == "wakeups") counters.wakeups = value;
    }
  }
  if (loops.empty())
    throw std::runtime_error(server +
                             " printed no runtime counters (--stats); its stderr: " + stderr_text);
  return loops;
}

// Latency and server CPU of one window, under `prefix` ("" for weft, "raw_" for the baseline).
void add_window_extras(Measurement& m, const WindowResult& w, const std::string& prefix) {
  const double requests = static_cast<double>(w.requests);
  m.extras[prefix + "p50_us"] = w.p50_us;
  m.extras[prefix + "p99_us"] = w.p99_us;
  // CPU times come in 10 ms clock ticks: a window that saw none gets no figure (the table
  // prints n/a) rather than a false zero.
  const double user = w.server_cpu.user_s;
  const double total = w.server_cpu.user_s + w.server_cpu.system_s;
  if (measurable_cpu_time(user)) m.extras[prefix + "server_user_us_per_op"] = user / requests * 1e6;
  if (measurable_cpu_time(total))
    m.extras[prefix + "server_cpu_us_per_op"] = total / requests * 1e6;
}

struct IoScenarioSpec {
  std::string weft_binary;
  // weft's server arguments for L loops (--stats is added).
  std::function<std::vector<std::string>(unsigned loops)> weft_args;
  // The baseline server for L loops (`single`: it may be pinned as one thread), or none.
  std::function<ServerSpec(unsigned loops, bool single)> baseline;
  // The baseline's extras are named with this prefix ("raw_p99_us").
  std::string baseline_prefix = "raw_";
  // Without a baseline: the limit for a configuration, measured before the servers start.
  std::function<double(const RunConfig&, const IoTiming&)> limit;
  Exchange exchange;
  // A 1-loop server is one thread, pinned next to the client; not so a server with a
  // to_thread pool (its workers are threads too).
  bool one_thread_at_one_loop = true;
};

void report(const RunConfig& config, const std::string& text) {
  if (config.progress) config.progress(text);
}

std::vector<Measurement> run_io_scenario(const RunConfig& config, const IoScenarioSpec& spec) {
  const IoTiming timing = timing_for(config);
  const Placement placement = placement_for(config);
  const bool single = config.loops == 1 && spec.one_thread_at_one_loop;
  std::optional<double> limit;
  if (spec.limit) {
    report(config, "measuring the limit");
    limit = spec.limit(config, timing);
  }

  report(config, "starting the servers");
  std::optional<ServerUnderLoad> baseline;
  if (spec.baseline) {
    baseline.emplace(spec.baseline(config.loops, single), placement, spec.exchange,
                     timing.connections);
  }
  std::vector<std::string> weft_args = spec.weft_args(config.loops);
  weft_args.push_back("--stats");
  ServerUnderLoad weft(bench_io_server(spec.weft_binary, std::move(weft_args), single), placement,
                       spec.exchange, timing.connections);

  report(config, "warm-up");
  if (baseline) (void)baseline->measure(timing.warm_up);
  (void)weft.measure(timing.warm_up);

  std::vector<Measurement> measurements;
  for (unsigned rep = 1; rep <= config.repetitions; ++rep) {
    const std::string label =
        "rep " + std::to_string(rep) + "/" + std::to_string(config.repetitions) + ": ";
    Measurement m;
    if (baseline) {
      report(config, label + "raw");
      const WindowResult raw = baseline->measure(timing.window);
      m.reference = raw.rate();
      add_window_extras(m, raw, spec.baseline_prefix);
    }
    report(config, label + "weft");
    const WindowResult ours = weft.measure(timing.window);
    m.value = ours.rate();
    add_window_extras(m, ours, "");
    if (limit) m.reference = *limit;
    measurements.push_back(std::move(m));
  }

  // The runtime's counters cover the server's whole life: startup, the readiness probe, the
  // warm-up and every window, while the load ran and while it sat idle between windows (a
  // parked loop parks once, not per request). They are divided by every request sent to this
  // server in the configuration, warm-up included, so they read as an average per request
  // and are the same in every repetition.
  const double requests = static_cast<double>(weft.requests_completed());
  const std::vector<LoopCounters> loops = parse_runtime_counters(weft.finish(), spec.weft_binary);
  if (baseline) (void)baseline->finish();
  LoopCounters total;
  for (const LoopCounters& c : loops) {
    total.steals += c.steals;
    total.parks += c.parks;
    total.wakeups += c.wakeups;
  }
  for (Measurement& m : measurements) {
    m.extras["steals_per_op"] = total.steals / requests;
    m.extras["parks_per_op"] = total.parks / requests;
    m.extras["wakeups_per_op"] = total.wakeups / requests;
    for (std::size_t i = 0; i < loops.size(); ++i) {
      const std::string loop = "loop" + std::to_string(i + 1) + "_";
      m.extras[loop + "steals_per_op"] = loops[i].steals / requests;
      m.extras[loop + "parks_per_op"] = loops[i].parks / requests;
      m.extras[loop + "wakeups_per_op"] = loops[i].wakeups / requests;
    }
  }
  return measurements;
}

std::string to_text(const std::vector<unsigned char>& bytes) {
  return {bytes.begin(), bytes.end()};
}

std::string hex(const Sha256Digest& digest) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string text;
  for (const unsigned char byte : digest) {
    text += kHexDigits[byte >> 4];
    text += kHexDigits[byte & 0xf];
  }
  return text;
}

std::vector<std::string> loops_args(unsigned loops) { return {"--loops", std::to_string(loops)}; }

// 64 bytes: scripts/bench-io's echo message (one small RPC).
constexpr std::size_t kEchoBytes = 64;
// 16 KiB: a body large enough that hashing it (~14 µs on the 2-core VM's SHA-NI cores)
// outweighs the HTTP path (~6 µs of server CPU per request in io/http_hello there), so the
// scenario is about moving CPU work off the loops.
constexpr std::size_t kHashedBodyBytes = 16 * 1024;

// The raw epoll C servers of bench/io, with --threads L.
std::function<ServerSpec(unsigned, bool)> raw_epoll(const std::string& name) {
  return [name](unsigned loops, bool single) {
    return bench_io_server(name, {"--threads", std::to_string(loops)}, single);
  };
}

IoScenarioSpec tcp_echo_spec() {
  return {.weft_binary = "weft-echo",
          .weft_args = loops_args,
          .baseline = raw_epoll("raw-epoll-echo"),
          .limit = {},
          .exchange = {.framing = Framing::echo,
                       .request = to_text(pseudo_random_bytes(kEchoBytes, 0xec40)),
                       .expected_body = std::nullopt}};
}

IoScenarioSpec http_hello_spec() {
  return {.weft_binary = "weft-http-hello",
          .weft_args = loops_args,
          .baseline = raw_epoll("raw-epoll-http-hello"),
          .limit = {},
          .exchange = {.framing = Framing::http,
                       .request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                       .expected_body = "hello, world\n"}};
}

IoScenarioSpec http_sha256_spec() {
  const std::vector<unsigned char> body = pseudo_random_bytes(kHashedBodyBytes, 0x5a256);
  std::string request =
      "POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  request += to_text(body);
  return {.weft_binary = "weft-http-hello",
          .weft_args =
              [](unsigned loops) {
                return std::vector<std::string>{"--loops", std::to_string(loops), "--pool",
                                                std::to_string(loops)};
              },
          .baseline = {},
          // Requests per second if the pool's cores did nothing but hash the bodies.
          .limit =
              [](const RunConfig& config, const IoTiming& timing) {
                // The best of four slices of the time: whatever else runs on the machine only
                // ever slows the hashing, so the fastest slice is the closest to what a core
                // can do (one 200 ms run caught a neighbour and came out 40% low).
                double per_core = 0;
                for (int slice = 0; slice < 4; ++slice)
                  per_core = std::max(
                      per_core,
                      single_core_sha256_rate(kHashedBodyBytes, timing.hash_rate_duration / 4));
                return std::min(config.loops, std::max(config.cores, 1u)) * per_core;
              },
          // The digest computed here: the server's answer to every request must match it.
          .exchange = {.framing = Framing::http,
                       .request = std::move(request),
                       .expected_body = hex(sha256(body)) + "\n"},
          .one_thread_at_one_loop = false};
}

// nginx as one process (its master does the work) and weft, both with the fixture's
// certificate. nginx has one worker at every loop count: the figure to beat is its CPU per
// request, which a second worker would not change.
IoScenarioSpec https_hello_spec(const HttpsFixture& files, std::filesystem::path nginx) {
  return {.weft_binary = "weft-http-hello",
          .weft_args =
              [&files](unsigned loops) {
                return std::vector<std::string>{"--loops",    std::to_string(loops), "--tls-cert",
                                                files.cert(), "--tls-key",           files.key()};
              },
          .baseline =
              [&files, nginx = std::move(nginx)](unsigned, bool) {
                return ServerSpec{
                    .program = nginx,
                    .args = [&files](std::uint16_t port) { return files.nginx_args(port); },
                    .ready_text = "",
                    .single_threaded = true};
              },
          .baseline_prefix = "nginx_",
          .limit = {},
          .exchange = {.framing = Framing::http,
                       .request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                       .expected_body = "hello, world\n",
                       .tls = true}};
}

const std::vector<std::string> kWeftVerboseExtras = {"steals_per_op", "parks_per_op",
                                                     "wakeups_per_op"};

}  // namespace

void add_io_scenarios(std::vector<Scenario>& out) {
  out.push_back({
      .id = "io/tcp_echo",
      .group = "io",
      .title = "TCP echo",
      .unit = "msgs/s",
      .size = "50 connections x 64-byte ping-pong",
      .axis = "loops",
      .reference_kind = ReferenceKind::baseline,
      .reference_label = "raw epoll C server",
      .shown_extras = {"p50_us", "p99_us", "server_user_us_per_op", "server_cpu_us_per_op",
                       "raw_server_user_us_per_op", "raw_server_cpu_us_per_op"},
      .verbose_extras = kWeftVerboseExtras,
      .run = [](const RunConfig& config) { return run_io_scenario(config, tcp_echo_spec()); },
  });
  out.push_back({
      .id = "io/http_hello",
      .group = "io",
      .title = "HTTP hello",
      .unit = "requests/s",
      .size = "50 keep-alive connections x GET /, one request at a time",
      .axis = "loops",
      .reference_kind = ReferenceKind::baseline,
      .reference_label = "raw epoll C server",
      .shown_extras = {"p50_us", "p99_us", "server_user_us_per_op", "server_cpu_us_per_op",
                       "raw_server_user_us_per_op", "raw_server_cpu_us_per_op"},
      .verbose_extras = kWeftVerboseExtras,
      .run = [](const RunConfig& config) { return run_io_scenario(config, http_hello_spec()); },
  });
  out.push_back({
      .id = "io/http_sha256",
      .group = "io",
      .title = "HTTP + to_thread SHA-256",
      .unit = "requests/s",
      .size = "50 connections x POST of 16 KiB hashed on to_thread; pool = loops",
      .axis = "loops",
      .reference_kind = ReferenceKind::limit,
      .reference_label = "SHA-256 only, min(loops, cores) cores",
      .shown_extras = {"p50_us", "p99_us", "server_user_us_per_op", "server_cpu_us_per_op"},
      .verbose_extras = kWeftVerboseExtras,
      .run = [](const RunConfig& config) { return run_io_scenario(config, http_sha256_spec()); },
  });
  const std::optional<std::filesystem::path> nginx = find_program("nginx");
  out.push_back({
      .id = "io/https_hello",
      .group = "io",
      .title = "HTTPS hello",
      .unit = "requests/s",
      .size = "50 keep-alive TLS connections x GET /, ECDSA P-256",
      .axis = "loops",
      .reference_kind = ReferenceKind::baseline,
      .reference_label = "nginx, 1 worker",
      .shown_extras = {"p50_us", "p99_us", "server_user_us_per_op", "server_cpu_us_per_op",
                       "nginx_server_user_us_per_op", "nginx_server_cpu_us_per_op"},
      .verbose_extras = kWeftVerboseExtras,
      .skip_reason = nginx ? "" : "nginx is not installed (Debian package nginx-light)",
      .run =
          [nginx](const RunConfig& config) {
            const HttpsFixture files;  // the certificate, for this configuration
            return run_io_scenario(config, https_hello_spec(files, nginx.value_or("")));
          },
  });
}

}  // namespace weft::bench
