// The asyncio tutorial's asyncio.Semaphore: five workers start together, but at most two may
// be inside the guarded part at a time (two connections to a server, two licences). In weft,
// `auto permit = co_await semaphore.scoped()` waits for a permit and gives it back when the
// guard goes out of scope, also on an exception or a cancellation.
//
// Look at: "inside" never passes 2; workers 3, 4 and 5 wait for a permit; the five 1 s jobs
// take about 3 s (three rounds of at most two), not 1 s (unbounded) and not 5 s (one by one).
//
// Prints (on one loop the workers start in the order gather spawned them; on several, loops
// steal them, so the order varies):
//   worker 1 enter (inside: 1) at 0.00 s
//   worker 2 enter (inside: 2) at 0.00 s
//   worker 1 leave (inside: 1) at 1.00 s
//   ...
//   5 workers, at most 2 inside at once, total: 3.00 s

#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

// Shared by the workers, which may run on different loops at once: hence the atomics.
struct Room {
  weft::Semaphore permits{2};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  tutorial::Stopwatch clock;
};

weft::Task<void> worker(Room& room, int id) {
  auto permit = co_await room.permits.scoped();  // released when `permit` goes
  const int now_inside = room.inside.fetch_add(1) + 1;
  int peak = room.peak.load();  // peak = max(peak, now_inside), against other loops' updates
  while (now_inside > peak && !room.peak.compare_exchange_weak(peak, now_inside)) {
  }
  std::printf("worker %d enter (inside: %d) at %.2f s\n", id, now_inside, room.clock.seconds());

  co_await weft::sleep(tutorial::scaled(1s));  // the work that needs the permit

  // Counted out while the permit is still held: counted after the release, the next worker
  // could count itself in first and the count would show three.
  const int left_inside = room.inside.fetch_sub(1) - 1;
  std::printf("worker %d leave (inside: %d) at %.2f s\n", id, left_inside, room.clock.seconds());
}

weft::Task<void> main_task() {
  Room room;
  std::vector<weft::Task<void>> workers;
  for (int id = 1; id <= 5; ++id) workers.push_back(worker(room, id));
  co_await weft::gather(std::move(workers));
  std::printf("5 workers, at most %d inside at once, total: %.2f s\n", room.peak.load(),
              room.clock.seconds());
}

int main() { weft::run(main_task()); }
