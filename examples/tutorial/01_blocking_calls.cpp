// The asyncio tutorial, "the problem with blocking calls": fetching users one blocking call at
// a time costs the sum of the waits; the same fetches as weft tasks cost about one wait.
//
// get_user_data_blocking() stands for a library call that blocks its thread (a synchronous
// HTTP request, say): std::this_thread::sleep_for. It runs in plain main(), outside weft, since
// blocking a weft loop would stall every task queued on it. get_user_data()
// is the same call written as a coroutine: weft::sleep suspends the task and frees the loop,
// so a hundred of them wait at once.
//
// Two sizes: 3 users at 1 s each, then 100 users at 0.1 s each (kept short so the blocking run
// takes 10 s, not 100). It prints, per size and way, one line:
//   3 users x 1.00 s, blocking: got 3, total: 3.00 s (the waits add up to 3.00 s)
//   3 users x 1.00 s, weft tasks: got 3, total: 1.00 s (the waits add up to 3.00 s)

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

std::string get_user_data_blocking(int id, Seconds latency) {
  std::this_thread::sleep_for(tutorial::scaled(latency));  // the whole thread waits
  return "user " + std::to_string(id);
}

weft::Task<std::string> get_user_data(int id, Seconds latency) {
  co_await weft::sleep(tutorial::scaled(latency));  // only this task waits
  co_return "user " + std::to_string(id);
}

void report(int users, Seconds latency, const char* way, std::size_t got, double seconds) {
  std::printf("%d users x %.2f s, %s: got %zu, total: %.2f s (the waits add up to %.2f s)\n", users,
              latency.count(), way, got, seconds, users * latency.count());
}

void fetch_blocking(int users, Seconds latency) {
  const tutorial::Stopwatch stopwatch;
  std::vector<std::string> results;
  for (int id = 1; id <= users; ++id) results.push_back(get_user_data_blocking(id, latency));
  report(users, latency, "blocking", results.size(), stopwatch.seconds());
}

weft::Task<void> fetch_concurrently(int users, Seconds latency) {
  const tutorial::Stopwatch stopwatch;
  // Spawn them all first: each starts at once and waits on its own. Awaiting each before
  // spawning the next would make this as slow as the blocking loop.
  std::vector<weft::JoinHandle<std::string>> fetches;
  for (int id = 1; id <= users; ++id) fetches.push_back(weft::spawn(get_user_data(id, latency)));
  std::vector<std::string> results;
  for (auto& fetch : fetches) results.push_back(co_await fetch);
  report(users, latency, "weft tasks", results.size(), stopwatch.seconds());
}

int main() {
  const struct {
    int users;
    Seconds latency;
  } sizes[] = {{3, 1s}, {100, 0.1s}};
  for (const auto& size : sizes) {
    fetch_blocking(size.users, size.latency);
    weft::run(fetch_concurrently(size.users, size.latency));
  }
}
