#include "load_generator.hpp"

// How the coordinator (the thread that calls measure()) and the client threads hand over.
//
// Each client thread owns its connections, its epoll, its counters and its latency samples;
// nothing of that is shared while it runs. The coordinator steers it through one atomic
// command word (generation and phase in one value, so a thread never sees a new generation
// with a stale phase) and an eventfd that wakes its epoll_wait; the thread answers through
// three atomics: `seen_generation_` (it has sent on every connection for that generation),
// `in_flight_` (requests without their full response, published after each batch of events)
// and `failed_`.
//
// A window: the coordinator clears the samples, stores {generation + 1, run} and waits until
// every thread reports that generation as seen; it sleeps for the window's length; it stores
// {generation + 1, idle} — threads stop sending as responses come in — and waits until every
// thread publishes in_flight_ == 0. That is the quiet edge: no thread touches its counters or
// samples again until the next generation, so the coordinator reads them as plain fields.
// The release store of in_flight_ (after the batch that completed the last response) paired
// with the coordinator's acquire load is what makes those reads see the thread's writes; the
// release store of the command paired with the thread's acquire load is what makes the
// thread see the cleared samples before it writes new ones.
//
// in_flight_ cannot read 0 too early: the coordinator first waits for seen_generation_ ==
// generation, which each thread stores (release) after publishing the in_flight_ of its
// sends, so the coordinator's later loads of in_flight_ see that value or a newer one; and in
// the run phase a thread re-sends on every connection whose response completed (reconnecting
// first if the server said "Connection: close"), so in_flight_ only falls to 0 in the idle
// phase.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "http_response_head.hpp"
#include "tls_client.hpp"
#include "unique_fd.hpp"

namespace weft::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) { return std::strerror(error); }

// The command word: generation << 2 | phase.
enum class Phase : std::uint64_t { idle = 0, run = 1, exit = 2 };
constexpr std::uint64_t command_word(std::uint64_t generation, Phase phase) {
  return generation << 2 | static_cast<std::uint64_t>(phase);
}
constexpr Phase phase_of(std::uint64_t word) { return static_cast<Phase>(word & 3); }
constexpr std::uint64_t generation_of(std::uint64_t word) { return word >> 2; }

// The epoll key of a thread's wake-up eventfd; connections are keyed by their index.
constexpr std::uint64_t kWakeKey = ~std::uint64_t{0};

// Latencies of one window, in ns. A reservoir (Vitter's algorithm R): once full, the n-th
// latency replaces a random kept one with probability capacity / n, so the kept ones stay a
// uniform sample of the whole window, not of its start.
class LatencyReservoir {
 public:
  void add(std::uint64_t ns) {
    ++seen_;
    // The count, the sum and the largest are exact, whatever the reservoir keeps.
    sum_ns_ += ns;
    max_ns_ = std::max(max_ns_, ns);
    if (samples_.size() < kCapacity) {
      samples_.push_back(ns);
      return;
    }
    // xorshift64: cheap, and its quality is plenty to pick a slot.
    random_ ^= random_ << 13;
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    const std::uint64_t slot = random_ % seen_;
    if (slot < kCapacity) samples_[slot] = ns;
  }
  void clear() {
    samples_.clear();
    seen_ = 0;
    sum_ns_ = 0;
    max_ns_ = 0;
  }
  [[nodiscard]] const std::vector<std::uint64_t>& samples() const { return samples_; }
  [[nodiscard]] std::uint64_t seen() const { return seen_; }
  [[nodiscard]] std::uint64_t sum_ns() const { return sum_ns_; }
  [[nodiscard]] std::uint64_t max_ns() const { return max_ns_; }

 private:
  // 8 MiB per client thread at most. A 1 s window at 200k requests/s keeps every latency; only
  // much longer windows sample (and then the threads' samples are merged with equal weight,
  // close enough as every thread carries about the same load).
  static constexpr std::size_t kCapacity = std::size_t{1} << 20;
  std::vector<std::uint64_t> samples_;
  std::uint64_t seen_ = 0;
  std::uint64_t sum_ns_ = 0;
  std::uint64_t max_ns_ = 0;
  std::uint64_t random_ = 0x9e3779b97f4a7c15;
};

// A blocking connect to 127.0.0.1:port, then non-blocking with TCP_NODELAY (the servers set
// it on their side too; without it a request split by a partial send waits for Nagle).
UniqueFd connect_loopback(std::uint16_t port, const std::string& server_name) {
  UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket)
    throw std::runtime_error("load on " + server_name + ": socket: " + errno_text(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int result = 0;
  do {
    result = ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (result != 0 && errno == EINTR);
  if (result != 0)
    throw std::runtime_error("load on " + server_name + ": connect to 127.0.0.1:" +
                             std::to_string(port) + ": " + errno_text(errno));
  const int one = 1;
  if (::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK) != 0)
    throw std::runtime_error("load on " + server_name + ": socket options: " + errno_text(errno));
  return socket;
}

// One connection's state; only its client thread touches it once the thread runs.
struct Connection {
  UniqueFd socket;
  std::unique_ptr<TlsConnection> tls;  // over `socket`, when the load speaks TLS
  bool in_flight = false;   // a request was (being) sent and its response is not complete
  bool want_write = false;  // EPOLLOUT registered: the request did not fit the send buffer
  std::size_t request_sent = 0;
  Clock::time_point sent_at;
  std::size_t echo_received = 0;  // echo: bytes of the reply so far
  std::string response;           // http: the current response's bytes so far
  std::optional<HttpHead> head;   // http: once its header section is in
};

}  // namespace

class LoadGenerator::ClientThread {
 public:
  ClientThread(const LoadOptions& options, const TlsClientContext* tls, std::optional<unsigned> cpu)
      : options_(options), tls_(tls), cpu_(cpu) {
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_ || !wake_) fail_setup("epoll_create1/eventfd");
    watch(wake_.get(), EPOLLIN, kWakeKey, EPOLL_CTL_ADD);
  }
  ClientThread(const ClientThread&) = delete;
  ClientThread& operator=(const ClientThread&) = delete;
  ~ClientThread() {
    if (thread_.joinable()) {
      send_command(command_word(0, Phase::exit));
      thread_.join();
    }
  }

  // Before start(), on the coordinator.
  void add_connection() {
    Connection c;
    connect(c);
    watch(c.socket.get(), EPOLLIN, connections_.size(), EPOLL_CTL_ADD);
    connections_.push_back(std::move(c));
  }
  void start() {
    scratch_.resize(kScratchBytes);
    thread_ = std::thread([this] { run(); });
  }

  // The coordinator's side.
  void send_command(std::uint64_t word) {
    // Release: pairs with the acquire loads in loop() and request_done(), publishing the
    // coordinator's window reset (cleared samples) to the thread before it records again.
    command_.store(word, std::memory_order_release);
    const std::uint64_t one = 1;
    // A full eventfd counter (never, at one write per command) would still be readable.
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  [[nodiscard]] bool has_seen(std::uint64_t generation) const {
    // Acquire: pairs with the release store in loop(); the in_flight_ loads that follow see
    // the count published with the generation's sends, or a newer one.
    return seen_generation_.load(std::memory_order_acquire) == generation;
  }
  [[nodiscard]] std::size_t in_flight() const {
    // Acquire: pairs with the release store in publish(); at 0, the counters and samples
    // written before it are visible here.
    return in_flight_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool failed() const {
    // Acquire: pairs with the release store in run(), so `error_` is complete when read.
    return failed_.load(std::memory_order_acquire);
  }
  [[nodiscard]] const std::string& error() const { return error_; }

  // At quiet edges only (see the top of the file): the thread does not touch these then.
  [[nodiscard]] std::uint64_t completed() const { return completed_; }
  [[nodiscard]] std::uint64_t reconnects() const { return reconnects_; }
  [[nodiscard]] const LatencyReservoir& latencies() const { return latencies_; }
  void clear_latencies() { latencies_.clear(); }

 private:
  // 64 KiB: far more than any response here (~200 bytes); a larger one takes several reads.
  static constexpr std::size_t kScratchBytes = 64 * 1024;
  // Events per epoll_wait: at most one per connection, and a batch of 256 is what the servers
  // use too (runtime/src/reactor.hpp).
  static constexpr int kMaxEvents = 256;

  [[noreturn]] void fail_setup(const char* what) {
    throw std::runtime_error("load on " + options_.server_name + ": " + what + ": " +
                             errno_text(errno));
  }
  [[noreturn]] void fail(std::size_t index, const std::string& what) {
    throw std::runtime_error("load on " + options_.server_name + ", connection " +
                             std::to_string(index) + ": " + what);
  }

  // A new connection in `c`, with its TLS handshake done when the load speaks TLS.
  void connect(Connection& c) {
    c.tls.reset();
    c.socket = connect_loopback(options_.port, options_.server_name);
    if (tls_ != nullptr) {
      try {
        c.tls = std::make_unique<TlsConnection>(*tls_, c.socket.get());
      } catch (const std::exception& e) {
        throw std::runtime_error("load on " + options_.server_name + ": " + e.what());
      }
    }
  }
  ssize_t send_some(Connection& c, const char* data, std::size_t size) {
    return c.tls ? c.tls->send(data, size) : ::send(c.socket.get(), data, size, MSG_NOSIGNAL);
  }
  ssize_t recv_some(Connection& c, char* data, std::size_t size) {
    return c.tls ? c.tls->recv(data, size) : ::recv(c.socket.get(), data, size, 0);
  }
  std::string io_error(const Connection& c, int error) {
    return error == EPROTO && c.tls ? "TLS: " + c.tls->error() : errno_text(error);
  }

  void watch(int fd, std::uint32_t events, std::uint64_t key, int operation) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = key;
    if (::epoll_ctl(epoll_.get(), operation, fd, &event) != 0) fail_setup("epoll_ctl");
  }

  void run() noexcept {
    try {
      if (cpu_) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(*cpu_, &set);
        const int error = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
        if (error != 0)
          throw std::runtime_error("load on " + options_.server_name + ": pinning to CPU " +
                                   std::to_string(*cpu_) + ": " + errno_text(error));
      }
      loop();
    } catch (const std::exception& e) {
      error_ = e.what();
      // Release: pairs with failed()'s acquire, publishing error_.
      failed_.store(true, std::memory_order_release);
    }
  }

  void loop() {
    std::array<epoll_event, kMaxEvents> events{};
    std::uint64_t generation = 0;
    for (;;) {
      const std::uint64_t word = command_.load(std::memory_order_acquire);
      if (phase_of(word) == Phase::exit) return;
      if (phase_of(word) == Phase::run && generation_of(word) != generation) {
        generation = generation_of(word);
        const Clock::time_point now = Clock::now();
        for (std::size_t i = 0; i < connections_.size(); ++i)
          if (!connections_[i].in_flight) send_request(i, now);
        publish();
        // Release, after publish(): pairs with has_seen()'s acquire (see there).
        seen_generation_.store(generation, std::memory_order_release);
      }
      const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_setup("epoll_wait");
      }
      const std::size_t before = in_flight_count_;
      for (int i = 0; i < n; ++i) {
        const epoll_event& event = events[static_cast<std::size_t>(i)];
        if (event.data.u64 == kWakeKey) {
          std::uint64_t count = 0;
          (void)!::read(wake_.get(), &count, sizeof count);
          continue;
        }
        const auto index = static_cast<std::size_t>(event.data.u64);
        if ((event.events & EPOLLOUT) != 0 && connections_[index].want_write) continue_send(index);
        if ((event.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
          // A TLS record larger than the read leaves plaintext in OpenSSL that epoll cannot
          // see: read it now.
          do {
            on_readable(index);
          } while (connections_[index].tls && connections_[index].tls->pending());
        }
      }
      // Only a change is news to the coordinator; the quiet edge is always one (to 0).
      if (in_flight_count_ != before) publish();
    }
  }

  void publish() {
    // Release: pairs with in_flight()'s acquire; the completions, samples and reconnects
    // recorded before this store are visible to a coordinator that reads 0.
    in_flight_.store(in_flight_count_, std::memory_order_release);
  }

  void send_request(std::size_t index, Clock::time_point now) {
    Connection& c = connections_[index];
    c.in_flight = true;
    c.request_sent = 0;
    c.sent_at = now;
    c.echo_received = 0;
    c.response.clear();
    c.head.reset();
    ++in_flight_count_;
    continue_send(index);
  }

  void continue_send(std::size_t index) {
    Connection& c = connections_[index];
    const std::string& request = options_.request;
    while (c.request_sent < request.size()) {
      const ssize_t n =
          send_some(c, request.data() + c.request_sent, request.size() - c.request_sent);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          // The rest when the send buffer has room (large requests only).
          if (!c.want_write) watch(c.socket.get(), EPOLLIN | EPOLLOUT, index, EPOLL_CTL_MOD);
          c.want_write = true;
          return;
        }
        fail(index, "send: " + io_error(c, errno));
      }
      c.request_sent += static_cast<std::size_t>(n);
    }
    if (c.want_write) {
      watch(c.socket.get(), EPOLLIN, index, EPOLL_CTL_MOD);
      c.want_write = false;
    }
  }

  void on_readable(std::size_t index) {
    Connection& c = connections_[index];
    const bool echo = options_.framing == Framing::echo;
    // Echo reads no further than the reply it waits for, so the check below sees every byte.
    const std::size_t want =
        echo && c.in_flight ? options_.request.size() - c.echo_received : scratch_.size();
    const ssize_t n = recv_some(c, scratch_.data(), want);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      fail(index, "recv: " + io_error(c, errno) + (c.in_flight ? " (waiting for a response)" : ""));
    }
    if (n == 0)
      fail(index, c.in_flight ? "the server closed the connection before the response was complete"
                              : "the server closed the connection between requests");
    if (!c.in_flight) fail(index, std::to_string(n) + " bytes that no request asked for");
    const std::string_view got(scratch_.data(), static_cast<std::size_t>(n));
    if (echo) {
      if (got != std::string_view(options_.request).substr(c.echo_received, got.size()))
        fail(index, "the echo differs from the request at byte " + std::to_string(c.echo_received));
      c.echo_received += got.size();
      if (c.echo_received == options_.request.size()) request_done(index, false);
      return;
    }
    const std::size_t searched = c.response.size();
    c.response.append(got);
    if (!c.head) {
      const std::size_t from = searched >= 3 ? searched - 3 : 0;
      const std::size_t blank = c.response.find("\r\n\r\n", from);
      if (blank == std::string::npos) return;
      try {
        c.head = parse_http_head(std::string_view(c.response).substr(0, blank + 4));
      } catch (const std::runtime_error& e) {
        fail(index, e.what());
      }
    }
    const std::size_t total = c.head->header_bytes + c.head->content_length;
    if (c.response.size() < total) return;
    if (c.response.size() > total)
      fail(index, std::to_string(c.response.size() - total) +
                      " bytes after the response (one request at a time was sent)");
    if (options_.expected_body &&
        std::string_view(c.response).substr(c.head->header_bytes) != *options_.expected_body)
      fail(index, "unexpected response body '" + c.response.substr(c.head->header_bytes, 200) +
                      "', expected '" + *options_.expected_body + "'");
    request_done(index, c.head->close);
  }

  void request_done(std::size_t index, bool server_closes) {
    Connection& c = connections_[index];
    Clock::time_point now = Clock::now();
    latencies_.add(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent_at).count()));
    ++completed_;
    c.in_flight = false;
    --in_flight_count_;
    if (server_closes) {
      // A fresh connection under the same key; closing the old socket removed it from epoll.
      connect(c);
      watch(c.socket.get(), EPOLLIN, index, EPOLL_CTL_ADD);
      c.want_write = false;
      ++reconnects_;
      now = Clock::now();  // the next request's latency does not include the connect
    }
    // Acquire: as in loop(); a new command's window reset is visible before recording again.
    if (phase_of(command_.load(std::memory_order_acquire)) == Phase::run) send_request(index, now);
  }

  const LoadOptions& options_;
  const TlsClientContext* const tls_;  // nullptr: plain TCP
  const std::optional<unsigned> cpu_;
  UniqueFd epoll_;
  UniqueFd wake_;
  std::vector<Connection> connections_;
  std::vector<char> scratch_;
  std::thread thread_;

  // Written by the coordinator only (send_command).
  std::atomic<std::uint64_t> command_{command_word(0, Phase::idle)};
  // Written by this thread only.
  std::atomic<std::uint64_t> seen_generation_{0};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> failed_{false};
  std::string error_;  // set before failed_
  // Only this thread writes these while it runs; the coordinator reads (and clears the
  // samples) at quiet edges.
  std::size_t in_flight_count_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t reconnects_ = 0;
  LatencyReservoir latencies_;
};

LoadGenerator::LoadGenerator(LoadOptions options) : options_(std::move(options)) {
  if (options_.connections == 0) throw std::invalid_argument("LoadGenerator: no connections");
  if (options_.request.empty()) throw std::invalid_argument("LoadGenerator: empty request");
  // One fd per connection, plus an epoll and an eventfd per thread and what the process
  // already holds (64: a guess with room to spare).
  const rlim_t needed = options_.connections + 64;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < needed) {
    if (limit.rlim_max < needed)
      throw std::runtime_error("load on " + options_.server_name + ": " +
                               std::to_string(options_.connections) +
                               " connections need more descriptors than the hard limit " +
                               std::to_string(limit.rlim_max));
    limit.rlim_cur = needed;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (options_.tls) tls_ = std::make_unique<TlsClientContext>();
  const unsigned thread_count = std::clamp(options_.threads, 1u, options_.connections);
  for (unsigned t = 0; t < thread_count; ++t) {
    std::optional<unsigned> cpu;
    if (!options_.client_cpus.empty()) cpu = options_.client_cpus[t % options_.client_cpus.size()];
    threads_.push_back(std::make_unique<ClientThread>(options_, tls_.get(), cpu));
  }
  // Dealt out in turn, so the threads' shares differ by one at most.
  for (unsigned i = 0; i < options_.connections; ++i) threads_[i % thread_count]->add_connection();
  for (auto& thread : threads_) thread->start();
}

LoadGenerator::~LoadGenerator() {
  // Every thread told first, so they stop together; each ClientThread's destructor then joins
  // it and closes its connections.
  for (auto& thread : threads_) thread->send_command(command_word(0, Phase::exit));
  threads_.clear();
}

void LoadGenerator::throw_if_failed() const {
  for (const auto& thread : threads_)
    if (thread->failed()) throw std::runtime_error(thread->error());
}

WindowResult LoadGenerator::measure(std::chrono::duration<double> length) {
  // Here at a quiet edge: right after construction, or after the previous measure().
  throw_if_failed();
  for (auto& thread : threads_) thread->clear_latencies();
  const std::uint64_t completed_before = requests_completed();
  const CpuTimes cpu_before = options_.server_cpu ? options_.server_cpu() : CpuTimes{};
  const Clock::time_point start = Clock::now();
  open_window();
  std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(length));
  quiesce();
  const Clock::time_point end = Clock::now();
  const CpuTimes cpu_after = options_.server_cpu ? options_.server_cpu() : CpuTimes{};

  WindowResult result;
  result.requests = requests_completed() - completed_before;
  result.seconds = std::chrono::duration<double>(end - start).count();
  result.server_cpu = {cpu_after.user_s - cpu_before.user_s,
                       cpu_after.system_s - cpu_before.system_s};
  if (result.requests == 0)
    throw std::runtime_error("load on " + options_.server_name + ": no response in a window of " +
                             std::to_string(result.seconds) + " s");
  std::vector<std::uint64_t> latencies;
  std::uint64_t sum_ns = 0;
  std::uint64_t max_ns = 0;
  for (const auto& thread : threads_) {
    const LatencyReservoir& r = thread->latencies();
    latencies.insert(latencies.end(), r.samples().begin(), r.samples().end());
    result.latency_samples += r.seen();
    sum_ns += r.sum_ns();
    max_ns = std::max(max_ns, r.max_ns());
  }
  // Nearest rank: the smallest latency with at least p of them at or below it.
  const auto percentile_us = [&latencies](double p) {
    const auto rank =
        static_cast<std::size_t>(std::ceil(p * static_cast<double>(latencies.size())));
    const auto nth =
        latencies.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
    std::nth_element(latencies.begin(), nth, latencies.end());
    return static_cast<double>(*nth) / 1e3;
  };
  result.p50_us = percentile_us(0.50);
  result.p90_us = percentile_us(0.90);
  result.p99_us = percentile_us(0.99);
  result.p999_us = percentile_us(0.999);
  result.mean_us = static_cast<double>(sum_ns) / static_cast<double>(result.latency_samples) / 1e3;
  result.max_us = static_cast<double>(max_ns) / 1e3;
  return result;
}

std::uint64_t LoadGenerator::requests_completed() const {
  std::uint64_t total = 0;
  for (const auto& thread : threads_) total += thread->completed();
  return total;
}

std::uint64_t LoadGenerator::reconnects() const {
  std::uint64_t total = 0;
  for (const auto& thread : threads_) total += thread->reconnects();
  return total;
}

namespace {
// How often the coordinator looks while it waits for the threads (a window edge lasts about
// one round trip, tens of µs; polling keeps the threads' hot path free of any signalling).
constexpr auto kPollInterval = std::chrono::microseconds(100);
// A quiet edge that takes this long means a response is lost, not slow.
constexpr auto kQuiesceTimeout = std::chrono::seconds(10);
}  // namespace

void LoadGenerator::open_window() {
  generation_ += 1;
  for (auto& thread : threads_) thread->send_command(command_word(generation_, Phase::run));
  for (auto& thread : threads_) {
    while (!thread->has_seen(generation_)) {
      throw_if_failed();
      std::this_thread::sleep_for(kPollInterval);
    }
  }
}

void LoadGenerator::quiesce() {
  for (auto& thread : threads_) thread->send_command(command_word(generation_, Phase::idle));
  const Clock::time_point deadline = Clock::now() + kQuiesceTimeout;
  for (auto& thread : threads_) {
    while (thread->in_flight() != 0) {
      throw_if_failed();
      if (Clock::now() > deadline)
        throw std::runtime_error("load on " + options_.server_name + ": " +
                                 std::to_string(thread->in_flight()) +
                                 " responses still missing 10 s after the window closed");
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  throw_if_failed();
}

}  // namespace weft::bench
