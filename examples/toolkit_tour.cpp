// A tour of the asyncio toolkit in weft: gather, wait_for, TaskGroup, Queue, Semaphore,
// async iteration and to_thread, each in a few lines (the README shows this file).

#include <chrono>
#include <cstdio>
#include <optional>
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

weft::Task<int> main_task() {
  // gather: concurrently; a failure cancels and joins the rest before it is rethrown
  auto [a, b] = co_await weft::gather(fetch(1), fetch(2));

  // wait_for: TimeoutError only after the work was cancelled and has finished
  try {
    co_await weft::wait_for(fetch(50), 20ms);
  } catch (const weft::TimeoutError&) {
    std::puts("timed out");
  }

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

  // async iteration
  int ticks = 0;
  auto gen = countdown(3);
  while (std::optional<int> v = co_await gen.next()) ticks += *v;

  // to_thread: CPU-bound work on the oneTBB pool
  const std::size_t n = co_await weft::to_thread(digest_length, std::string(1 << 20, 'x'));

  std::printf("%d %d %d %d %zu %d %zu\n", a, b, out[2], sum, done, ticks, n);
  co_return 0;
}

int main() { return weft::run(main_task()); }
