// weft::to_thread on CPU-bound work: SHA-256 (OpenSSL EVP) of 256 buffers of 1 MiB.
//
//   BM_sha256_inline               one thread, no runtime: the per-core limit
//   BM_sha256_to_thread/threads:N  one driver task puts all 256 jobs in flight at once
//                                  (256 spawned tasks, each awaiting to_thread, then joined)
//                                  on an arena of N workers
//
// Real time throughout: the benchmark's own thread only waits in block_on. One event loop,
// so on a small machine the loops do not take cores from the workers (the driver is cheap).
// The speedup of N workers over 1 should approach min(N, cores); `openssl speed -evp sha256
// -bytes 1048576` on the same machine gives the physical limit per core.

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>
#include <weft/to_thread.hpp>
#include <weft/weft.hpp>

namespace {

constexpr std::size_t kBuffers = 256;
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

using Digest = std::array<unsigned char, 32>;

// Deterministic contents (xorshift), built once outside every timed region.
const std::vector<std::vector<unsigned char>>& buffers() {
  static const std::vector<std::vector<unsigned char>> all = [] {
    std::vector<std::vector<unsigned char>> out(kBuffers, std::vector<unsigned char>(kBufferBytes));
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto& b : out) {
      for (auto& byte : b) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        byte = static_cast<unsigned char>(x);
      }
    }
    return out;
  }();
  return all;
}

Digest sha256(const unsigned char* data, std::size_t size) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data, size, out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw std::runtime_error("EVP_Digest(sha256) failed");
  return out;
}

const std::vector<Digest>& expected_digests() {
  static const std::vector<Digest> all = [] {
    std::vector<Digest> out;
    for (const auto& b : buffers()) out.push_back(sha256(b.data(), b.size()));
    return out;
  }();
  return all;
}

void set_counters(benchmark::State& state) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(kBuffers * kBufferBytes));
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(kBuffers));
}

void BM_sha256_inline(benchmark::State& state) {
  const auto& bufs = buffers();
  for (auto _ : state) {
    for (const auto& b : bufs) {
      Digest d = sha256(b.data(), b.size());
      benchmark::DoNotOptimize(d);
    }
  }
  set_counters(state);
}

weft::Task<std::vector<Digest>> hash_all() {
  const auto& bufs = buffers();
  std::vector<weft::JoinHandle<Digest>> jobs;
  jobs.reserve(bufs.size());
  for (const auto& b : bufs)
    jobs.push_back(weft::spawn(weft::to_thread(sha256, b.data(), b.size())));
  std::vector<Digest> out;
  out.reserve(jobs.size());
  for (auto& j : jobs) out.push_back(co_await j);
  co_return out;
}

void BM_sha256_to_thread(benchmark::State& state) {
  weft::RuntimeOptions options;
  options.loops = 1;
  options.stall_threshold = std::chrono::milliseconds(0);
  options.to_thread_threads = static_cast<unsigned>(state.range(0));
  weft::Runtime rt(options);
  // Untimed: starts the workers and checks every digest once.
  if (rt.block_on(hash_all()) != expected_digests()) {
    state.SkipWithError("wrong digests");
    return;
  }
  for (auto _ : state) {
    auto digests = rt.block_on(hash_all());
    benchmark::DoNotOptimize(digests);
  }
  set_counters(state);
}

}  // namespace

BENCHMARK(BM_sha256_inline)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sha256_to_thread)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
