// The asyncio tutorial, "running tasks concurrently": three fetch_user calls made into tasks
// with asyncio.create_task — here weft::spawn — take about one second together, not three.
//
// What to look at: spawn() starts each fetch at once and hands back a JoinHandle; main awaits
// the handles only after all three are running, so the three one-second waits overlap. (Were
// each awaited right after its spawn, or each fetch awaited directly as a Task, the waits
// would add up again.) Each fetch says when it starts and ends, in tutorial seconds; the
// order of the lines varies from run to run (spawn order is not run order), the times do not:
//   fetch_user(3): start at 0.00 s
//   fetch_user(1): start at 0.00 s
//   fetch_user(2): start at 0.00 s
//   fetch_user(1): done at 1.00 s
//   user 1: Ada
//   ...
//   user 3: Linus
//   3 users, total: 1.00 s (one at a time: 3 s)

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

struct User {
  int id;
  std::string name;
};

// A stand-in for a request that takes a second. The clock comes by value: the task may run
// on any loop, and keeps its own copy.
weft::Task<User> fetch_user(int id, tutorial::Stopwatch clock) {
  static const char* const names[] = {"Ada", "Grace", "Linus"};
  std::printf("fetch_user(%d): start at %.2f s\n", id, clock.seconds());
  co_await weft::sleep(tutorial::scaled(1s));
  std::printf("fetch_user(%d): done at %.2f s\n", id, clock.seconds());
  co_return User{id, names[(id - 1) % 3]};
}

weft::Task<void> main_task() {
  const tutorial::Stopwatch clock;
  std::vector<weft::JoinHandle<User>> fetches;
  for (int id = 1; id <= 3; ++id)
    fetches.push_back(
        weft::spawn(fetch_user(id, clock), {.name = "fetch user " + std::to_string(id)}));
  // All three are running now; awaiting them in order just collects the results.
  for (auto& fetch : fetches) {
    const User user = co_await fetch;
    std::printf("user %d: %s\n", user.id, user.name.c_str());
  }
  std::printf("%zu users, total: %.2f s (one at a time: %zu s)\n", fetches.size(), clock.seconds(),
              fetches.size());
}

int main() { weft::run(main_task()); }
