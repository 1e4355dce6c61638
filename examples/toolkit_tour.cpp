// A tour of the asyncio toolkit in weft, each piece in a few lines (the README points here):
// gather, gather_settled, when_any, wait_for, shield, TaskGroup, Queue, Semaphore, Mutex,
// Event, async iteration, async resources and to_thread.

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

using namespace std::chrono_literals;

weft::Task<int> fetch(int id) {
  co_await weft::sleep(10ms * id);
  co_return id * 10;
}

weft::Generator<int> countdown(int from) {
  for (int i = from; i > 0; --i) {
    co_await weft::sleep(1ms);
    co_yield i;
  }
}

// CPU-bound work for to_thread (a stand-in: the examples issue hashes with SHA-256).
std::size_t digest_length(std::string data) { return data.size(); }

weft::Task<void> producer(weft::Queue<int>& q) {
  for (int i = 0; i < 3; ++i) co_await q.push(i);
  q.close();
}

weft::Task<int> consumer(weft::Queue<int>& q) {
  int sum = 0;
  try {
    for (;;) sum += co_await q.pop();
  } catch (const weft::QueueClosed&) {
  }
  co_return sum;
}

weft::Task<int> limited(weft::Semaphore& sem, int id) {
  auto permit = co_await sem.scoped();  // released at scope exit
  co_return co_await fetch(id);
}

weft::Task<int> fails() {
  co_await weft::yield();
  throw std::runtime_error("no luck");
}

// An `async with` resource: aclose() runs after the body, also on error or cancellation.
struct Connection {
  int* closed;
  weft::Task<void> aclose() {
    co_await weft::sleep(1ms);  // e.g. flush, then say goodbye
    ++*closed;
  }
};

weft::Task<int> main_task() {
  // gather: concurrently; a failure cancels and joins the rest before it is rethrown
  auto [a, b] = co_await weft::gather(fetch(1), fetch(2));

  // wait_for: TimeoutError only after the work was cancelled and has finished
  try {
    co_await weft::wait_for(fetch(50), 20ms);
  } catch (const weft::TimeoutError&) {
    std::puts("timed out");
  }

  // gather_settled: every outcome, value or exception, in order
  auto [ok, bad] = co_await weft::gather_settled(fetch(1), fails());
  std::printf("settled: %d, %s\n", ok.value(), bad.has_value() ? "value" : "exception");

  // when_any: the first to finish wins; the others are cancelled and joined
  auto first = co_await weft::when_any(fetch(3), fetch(1));
  std::printf("when_any: task %zu won\n", first.index());

  // shield: a cancel of the caller waits for the work instead of interrupting it
  const int kept = co_await weft::shield(fetch(1));

  // TaskGroup: children never outlive the group
  std::vector<int> out(3);
  co_await weft::with_task_group([&](weft::TaskGroup& group) -> weft::Task<void> {
    for (int i = 0; i < 3; ++i)
      group.spawn(
          [](int& slot, int id) -> weft::Task<void> { slot = co_await fetch(id); }(out[i], i));
    co_return;
  });

  // Queue: producer/consumer across loops
  weft::Queue<int> q(1);
  auto p = weft::spawn(producer(q));
  const int sum = co_await consumer(q);
  co_await p;

  // Semaphore: at most 2 at a time
  weft::Semaphore sem(2);
  std::vector<weft::Task<int>> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(limited(sem, i));
  const std::vector<int> limited_results = co_await weft::gather(std::move(jobs));
  const auto done = limited_results.size();

  // Mutex and Event
  weft::Mutex mutex;
  {
    auto guard = co_await mutex.lock();  // unlocked when the guard goes
  }
  weft::Event ready;
  auto waiter = weft::spawn([](weft::Event& ev) -> weft::Task<void> { co_await ev.wait(); }(ready));
  ready.set();
  co_await waiter;

  // async with
  int closed = 0;
  const int used = co_await weft::with_resource(
      Connection{&closed}, [](Connection&) -> weft::Task<int> { co_return 1; });

  // async iteration
  int ticks = 0;
  auto gen = countdown(3);
  while (std::optional<int> v = co_await gen.next()) ticks += *v;

  // to_thread: CPU-bound work on the oneTBB pool
  const std::size_t n = co_await weft::to_thread(digest_length, std::string(1 << 20, 'x'));

  std::printf("%d %d %d %d %d %zu %d %d %d %zu\n", a, b, kept, out[2], sum, done, used, closed,
              ticks, n);
  const bool as_expected = a == 10 && b == 20 && kept == 10 && out[2] == 20 && sum == 3 &&
                           done == 5 && used == 1 && closed == 1 && ticks == 6 && n == (1u << 20);
  co_return as_expected ? 0 : 1;  // ctest runs this program: a wrong value fails it
}

int main() { return weft::run(main_task()); }
