// Parallelism: SHA-256 of many buffers through weft::to_thread, at pool sizes 1..N (the
// --loops values set the workers of the to_thread pool here; one event loop drives it, as
// the loop only hands out jobs and collects digests).
//
// The limit is what the cores could do with nothing but hashing: OpenSSL's single-core rate
// at the same buffer size (what `openssl speed -evp sha256 -bytes 1048576` reports), measured
// in-process for each configuration, times min(workers, cores). On a machine with SHA
// instructions a 1 MiB buffer takes ~0.7 ms, so the per-job cost of to_thread (a few µs) is
// under 1% and the ratio to the limit shows how well the pool keeps every core busy.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/to_thread.hpp>
#include <weft/weft.hpp>

#include "in_process.hpp"
#include "scenario.hpp"
#include "sha256.hpp"

namespace weft::bench {
namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

struct Buffers {
  std::vector<std::vector<unsigned char>> data;
  std::vector<Sha256Digest> digests;  // computed inline, to check the pool's
};

Buffers make_buffers(std::size_t count, std::size_t bytes) {
  Buffers b;
  for (std::size_t i = 0; i < count; ++i) {
    b.data.push_back(pseudo_random_bytes(bytes, 0x9e3779b97f4a7c15ull + i));
    b.digests.push_back(sha256(b.data.back()));
  }
  return b;
}

Task<Sha256Digest> hash_off_loop(std::span<const unsigned char> data) {
  co_return co_await to_thread([data] { return sha256(data); });
}

// Every job in flight at once: one spawned task per job, each awaiting to_thread.
Task<bool> hash_all(const Buffers& buffers, std::size_t jobs) {
  std::vector<JoinHandle<Sha256Digest>> handles;
  handles.reserve(jobs);
  for (std::size_t i = 0; i < jobs; ++i)
    handles.push_back(spawn(hash_off_loop(buffers.data[i % buffers.data.size()])));
  bool all_right = true;
  for (std::size_t i = 0; i < jobs; ++i)
    all_right &= (co_await handles[i]) == buffers.digests[i % buffers.data.size()];
  co_return all_right;
}

std::vector<Measurement> run_sha256(const RunConfig& config) {
  // 64 distinct buffers (64 MiB) hashed 4 times each per round: 256 jobs, 256 MiB.
  const std::size_t distinct = config.quick ? 8 : 64;
  const std::size_t jobs = config.quick ? 16 : 256;
  const Buffers buffers = make_buffers(distinct, kBufferBytes);
  const double mib = static_cast<double>(kBufferBytes) / (1 << 20);
  const unsigned cores_used = std::min(config.loops, config.cores);
  RunConfig driver = config;
  driver.loops = 1;
  RuntimeOptions options;
  options.to_thread_threads = config.loops;
  std::vector<Measurement> out = measure_rounds(
      driver,
      [&](Runtime& rt) {
        if (!rt.block_on(hash_all(buffers, jobs)))
          throw std::runtime_error("to_thread returned a wrong digest");
        return static_cast<std::uint64_t>(jobs);
      },
      options,
      [&](Runtime&, Measurement& m) {
        // The limit of this repetition, measured right after it: a clock that drifts (turbo,
        // a neighbour on the host) moves both sides of the ratio together.
        const double single_core =
            single_core_sha256_rate(kBufferBytes,
                                    std::chrono::milliseconds(config.quick ? 20 : 150)) *
            mib;
        m.value *= mib;  // jobs/s -> MiB/s
        m.reference = single_core * cores_used;
        m.extras["single_core_mib_s"] = single_core;
      });
  return out;
}

}  // namespace

void add_hashing_scenarios(std::vector<Scenario>& out) {
  out.push_back({
      .id = "parallelism/to_thread_sha256",
      .group = "parallelism",
      .title = "to_thread SHA-256, N workers",
      .unit = "MiB/s",
      .size = "256 x 1 MiB buffers, all in flight, 1 loop",
      .axis = "pool workers",
      .reference_kind = ReferenceKind::limit,
      .reference_label = "OpenSSL, 1 core x min(workers, cores)",
      .shown_extras = {"single_core_mib_s"},
      .verbose_extras = runtime_extras(),
      .run = run_sha256,
  });
}

}  // namespace weft::bench
