// The asyncio tutorial's own demo: "fetch" users, each a simulated network wait. The
// tutorial fetches 100 users of 1 s each, 100 s one after another and ~1 s concurrently;
// here 10,000 users of 10 ms each keep the suite short while making the same point.
//
// The value is users per second with every fetch in flight at once (one round = 10,000
// spawned tasks, each sleeping 10 ms, gathered); ideally a round takes one wait, 10 ms, so
// `ideal_ms` beside `round_ms` shows what the runtime adds to 10,000 timers. The baseline is
// the same fetch awaited one user at a time, which can never beat 1 / 10 ms = 100 users/s
// whatever the loops: the ratio is the tutorial's "concurrent vs sequential".

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>
#include <weft/gather.hpp>
#include <weft/weft.hpp>

#include "in_process.hpp"
#include "scenario.hpp"

namespace weft::bench {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 10ms;

Task<std::uint64_t> fetch_user(std::uint64_t id) {
  co_await sleep(kWait);  // stands for the network round trip
  co_return id;
}

Task<std::uint64_t> fetch_concurrently(std::uint64_t users) {
  std::vector<Task<std::uint64_t>> all;
  all.reserve(users);
  for (std::uint64_t id = 0; id < users; ++id) all.push_back(fetch_user(id));
  std::uint64_t sum = 0;
  for (std::uint64_t id : co_await gather(std::move(all))) sum += id;
  co_return sum;
}

Task<std::uint64_t> fetch_sequentially(std::uint64_t users) {
  std::uint64_t sum = 0;
  for (std::uint64_t id = 0; id < users; ++id) sum += co_await fetch_user(id);
  co_return sum;
}

std::vector<Measurement> run_fetch_users(const RunConfig& config) {
  const std::uint64_t users = config.quick ? 1'000 : 10'000;
  // 25 sequential users take 250 ms: enough for a stable rate, short enough to repeat.
  const std::uint64_t sequential_users = config.quick ? 3 : 25;
  return measure_rounds(
      config,
      [users](Runtime& rt) {
        if (rt.block_on(fetch_concurrently(users)) != users * (users - 1) / 2)
          throw std::runtime_error("a user was lost");
        return users;
      },
      {},
      [sequential_users](Runtime& rt, Measurement& m) {
        const auto start = std::chrono::steady_clock::now();
        (void)rt.block_on(fetch_sequentially(sequential_users));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        m.reference = static_cast<double>(sequential_users) / seconds;
        m.extras["round_ms"] = m.extras["seconds"] * 1e3;
        m.extras["ideal_ms"] = std::chrono::duration<double, std::milli>(kWait).count();
      });
}

}  // namespace

void add_tutorial_scenarios(std::vector<Scenario>& out) {
  std::vector<std::string> verbose = runtime_extras();
  out.push_back({
      .id = "tutorial/fetch_users",
      .group = "tutorial",
      .title = "fetch users",
      .unit = "users/s",
      .size = "10,000 users x 10 ms simulated wait, all at once",
      .reference_kind = ReferenceKind::baseline,
      .reference_label = "one user at a time",
      .shown_extras = {"round_ms", "ideal_ms"},
      .verbose_extras = verbose,
      .run = run_fetch_users,
  });
}

}  // namespace weft::bench
