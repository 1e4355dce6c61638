// The asyncio tutorial's asyncio.to_thread for CPU-bound work: hashing (SHA-256, OpenSSL)
// on the loop blocks it, and nothing else on that loop runs meanwhile; `co_await
// weft::to_thread(f, args...)` runs f on weft's thread pool while the loop carries on. In
// CPython, threads run CPU-bound work in parallel only where it releases the GIL (hashlib
// does, for large buffers); weft's pool workers run any C++ in parallel.
//
// Look at: a ticker task on the same (single) loop ticks while the pool hashes, and not at
// all while the loop hashes inline; 64 buffers hashed through to_thread finish sooner than
// one after another on the loop (by up to the number of cores; only printed, not promised).
//
// CPU time is real time: these figures are in milliseconds, not tutorial seconds, and no
// WEFT_EXAMPLE_TIME_SCALE shrinks them. For the same reason the ticker ticks every real
// millisecond: it probes how free the loop is, it does not stand for a wait of the tutorial.
//
// Prints:
//   sha256 of 16 MiB of 'a': 5b6ff2e19d0da0fe323061018fc381393492884e74af8296c81ab9cb2694783a
//   to_thread: hashed in 15 ms; the ticker ticked 13 times meanwhile
//   inline:    hashed in 13 ms; the ticker ticked 0 times meanwhile; same digest: yes
//   64 x 1 MiB inline: 52 ms; through to_thread: 36 ms (speedup 1.5x, 2 cores)
//   digests equal: 64 of 64

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

std::string sha256_hex(std::span<const unsigned char> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest(sha256) failed");
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xf];
  }
  return hex;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Counts ticks until stopped; the count says how often the loop was free to run it.
weft::Task<void> ticker(std::atomic<int>& ticks, std::atomic<bool>& stop) {
  while (!stop.load()) {
    co_await weft::sleep(1ms);
    ticks.fetch_add(1);
  }
}

weft::Task<void> main_task() {
  // Atomics although one loop runs both tasks: the program stays correct with more loops.
  std::atomic<int> ticks{0};
  std::atomic<bool> stop{false};
  auto ticking = weft::spawn(ticker(ticks, stop), {.name = "ticker"});

  // One big buffer: hashed on the pool, then on the loop, counting ticks during each.
  const std::vector<unsigned char> big(16 << 20, 'a');
  auto start = std::chrono::steady_clock::now();
  // A span, not a copy of 16 MiB: to_thread waits for its job to end even if this task is
  // cancelled, so `big` outlives every read of it.
  const std::string digest = co_await weft::to_thread(sha256_hex, std::span(big));
  std::printf("sha256 of 16 MiB of 'a': %s\n", digest.c_str());
  std::printf("to_thread: hashed in %.0f ms; the ticker ticked %d times meanwhile\n",
              ms_since(start), ticks.exchange(0));
  start = std::chrono::steady_clock::now();
  const std::string same = sha256_hex(big);  // blocks the loop, the ticker's too
  std::printf(
      "inline:    hashed in %.0f ms; the ticker ticked %d times meanwhile; same digest: %s\n",
      ms_since(start), ticks.exchange(0), same == digest ? "yes" : "no");
  stop = true;
  co_await ticking;

  // Many buffers: one after another on the loop, then all at once through to_thread.
  std::vector<std::vector<unsigned char>> buffers;
  for (int i = 0; i < 64; ++i) buffers.emplace_back(1 << 20, static_cast<unsigned char>(i));
  start = std::chrono::steady_clock::now();
  std::vector<std::string> inline_digests;
  for (const auto& buffer : buffers) inline_digests.push_back(sha256_hex(buffer));
  const double inline_ms = ms_since(start);

  start = std::chrono::steady_clock::now();
  std::vector<weft::Task<std::string>> jobs;
  for (const auto& buffer : buffers) jobs.push_back(weft::to_thread(sha256_hex, std::span(buffer)));
  const std::vector<std::string> pool_digests = co_await weft::gather(std::move(jobs));
  const double pool_ms = ms_since(start);
  std::printf("64 x 1 MiB inline: %.0f ms; through to_thread: %.0f ms (speedup %.1fx, %u cores)\n",
              inline_ms, pool_ms, inline_ms / pool_ms, std::thread::hardware_concurrency());

  int equal = 0;
  for (std::size_t i = 0; i < buffers.size(); ++i) equal += pool_digests[i] == inline_digests[i];
  std::printf("digests equal: %d of %zu\n", equal, buffers.size());
}

int main() {
  // OpenSSL initialises itself on first use; doing it here, before the runtime's threads
  // exist, keeps that one-time set-up off the pool workers (initialised on a worker, its
  // per-thread state showed up in LeakSanitizer's report at exit).
  (void)sha256_hex({});
  // One loop, so "the loop" is one thread: hashing inline blocks it, and the ticker with it.
  // Hashing on it for tens of milliseconds makes weft's stall detector report on stderr.
  weft::run(main_task(), {.loops = 1});
}
