// The asyncio tutorial, "awaitables": what can follow `await` — a coroutine, a task, a future
// — and when the work behind each one runs.
//
// In weft the three are two types:
// - Calling a coroutine function gives a weft::Task<T>. It is lazy: nothing of its body runs
//   until it is awaited, whether at once (part 1) or later from a variable (part 2).
// - weft::spawn(task) is asyncio.create_task: it starts the task at once, concurrently, and
//   gives a weft::JoinHandle<T>, the future-like handle that is awaited for the result
//   (part 3).
// What to look at: in part 2 "work: running" comes only after "main: awaiting", and the result
// arrives 2 s after the task was made (1 s idle + 1 s of work); in part 3 it runs while main
// sleeps, so the result is there 1 s after the spawn. Each line says who prints it:
//   1. a coroutine, awaited where it is called
//   main: calling work()
//   work: running
//   main: got 42
//   2. a Task kept in a variable: lazy
//   main: made the task, sleeping 1 s
//   main: awaiting the task
//   work: running
//   main: got 42, 2.00 s after the task was made
//   3. a JoinHandle from spawn: started at once
//   main: spawning work(), sleeping 1 s
//   work: running
//   main: awaiting the handle
//   main: got 42, 1.00 s after the spawn

#include <chrono>
#include <cstdio>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

weft::Task<int> work() {
  std::puts("work: running");
  co_await weft::sleep(tutorial::scaled(1s));
  co_return 42;
}

weft::Task<void> main_task() {
  std::puts("1. a coroutine, awaited where it is called");
  std::puts("main: calling work()");
  std::printf("main: got %d\n", co_await work());

  std::puts("2. a Task kept in a variable: lazy");
  const tutorial::Stopwatch since_made;
  weft::Task<int> task = work();  // makes the coroutine frame; runs none of its body
  std::puts("main: made the task, sleeping 1 s");
  co_await weft::sleep(tutorial::scaled(1s));
  std::puts("main: awaiting the task");
  const int from_task = co_await task;
  std::printf("main: got %d, %.2f s after the task was made\n", from_task, since_made.seconds());

  std::puts("3. a JoinHandle from spawn: started at once");
  std::puts("main: spawning work(), sleeping 1 s");
  const tutorial::Stopwatch since_spawn;
  weft::JoinHandle<int> handle = weft::spawn(work());
  co_await weft::sleep(tutorial::scaled(1s));  // the spawned task runs meanwhile
  std::puts("main: awaiting the handle");
  const int from_handle = co_await handle;
  std::printf("main: got %d, %.2f s after the spawn\n", from_handle, since_spawn.seconds());
}

int main() { weft::run(main_task()); }
