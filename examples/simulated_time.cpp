// A test on simulated time (docs/simulated-time.md): a client retries a slow service with a
// 2 s timeout and a doubling back-off. The scenario spans 7.3 seconds of simulated time and
// runs without waiting (the clock jumps from deadline to deadline), and its timeline is
// exact: the program checks every line of it, as a test would, and exits 1 if one differs.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

namespace {

// The simulated time, in milliseconds since the runtime started.
long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             weft::Clock::now().time_since_epoch())
      .count();
}

// A service that takes 5 s to answer its first two calls, then 300 ms.
weft::Task<std::string> call_service(int attempt) {
  co_await weft::sleep(attempt <= 2 ? 5s : 300ms);
  co_return "ok";
}

weft::Task<std::vector<std::string>> client() {
  std::vector<std::string> timeline;
  auto log = [&](const std::string& what) {
    timeline.push_back("t=" + std::to_string(now_ms()) + "ms " + what);
  };
  auto backoff = std::chrono::milliseconds(1000);
  for (int attempt = 1;; ++attempt) {
    log("attempt " + std::to_string(attempt));
    bool timed_out = false;
    try {
      std::string answer = co_await weft::wait_for(call_service(attempt), 2s);
      log("answer " + answer);
      break;
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) {
      log("timed out, retrying in " + std::to_string(backoff.count()) + "ms");
      co_await weft::sleep(backoff);
      backoff *= 2;
    }
  }
  co_return timeline;
}

}  // namespace

int main() {
  weft::RuntimeOptions options;
  options.simulated_time = weft::SimulatedTime{};  // one loop, a virtual clock from 0
  const auto wall_start = std::chrono::steady_clock::now();
  const std::vector<std::string> timeline = weft::run(client(), options);
  const auto wall = std::chrono::steady_clock::now() - wall_start;

  const std::vector<std::string> expected = {
      "t=0ms attempt 1",    "t=2000ms timed out, retrying in 1000ms",
      "t=3000ms attempt 2", "t=5000ms timed out, retrying in 2000ms",
      "t=7000ms attempt 3", "t=7300ms answer ok",
  };
  for (const std::string& line : timeline) std::printf("%s\n", line.c_str());
  std::printf(
      "(7.3 s of simulated time in %lld ms of wall time)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()));
  if (timeline != expected) {
    std::fprintf(stderr, "the timeline differs from the expected one\n");
    return 1;
  }
  return 0;
}
