// Parallelism: SHA-256 of many buffers through weft::to_thread, at pool sizes 1..N (the
// --loops values set the workers of the to_thread pool here; one event loop drives it, as
// the loop only hands out jobs and collects digests).
//
// The limit is what the cores could do with nothing but hashing these buffers: the same
// jobs hashed inline, one after another on one thread, measured right after each repetition,
// times min(workers, cores). That single-thread pass reads the same 64 MiB of cold buffers
// the pool reads, so it pays the same memory traffic; OpenSSL's rate on one hot buffer
// (`openssl speed`) is a cache-resident figure these buffers never reach, and a ratio to it
// would charge the pool for the memory system. A 1 MiB buffer takes about a millisecond, so
// the per-job cost of to_thread (a few µs) is under 1% and the ratio shows how well the pool
// keeps every core busy.

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

// The jobs of one round hashed inline on this thread, in the same order: jobs per second.
double inline_rate(const Buffers& buffers, std::size_t jobs) {
  const auto start = std::chrono::steady_clock::now();
  bool all_right = true;
  for (std::size_t i = 0; i < jobs; ++i)
    all_right &=
        sha256(buffers.data[i % buffers.data.size()]) == buffers.digests[i % buffers.data.size()];
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Checking the digests keeps the calls from being dropped, and costs nothing measurable.
  if (!all_right) throw std::runtime_error("inline SHA-256 returned a wrong digest");
  return static_cast<double>(jobs) / seconds;
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
        const double one_thread = inline_rate(buffers, jobs) * mib;
        m.value *= mib;  // jobs/s -> MiB/s
        m.reference = one_thread * cores_used;
        m.extras["inline_one_thread_mib_s"] = one_thread;
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
      .reference_label = "the same jobs inline on 1 thread x min(workers, cores)",
      .shown_extras = {"inline_one_thread_mib_s"},
      .verbose_extras = runtime_extras(),
      .run = run_sha256,
  });
}

}  // namespace weft::bench
